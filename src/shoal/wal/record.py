"""WAL record framing: how one record sits in a segment file, and how damage is told apart.

A frame is a 16-byte header, the data, and zero padding up to a multiple of 8 bytes:

    u32 length | u8 type | u8 flags | u16 reserved (0) | u32 crc | u32 header crc   (little-endian)

`crc` is the checksum chain: crc32 of the data continued from the previous record's crc (etcd does
the same with crc32c), so a record only verifies in the place it was written, and a segment's
first record (type CRC) carries the chain over from the previous segment. `header crc` covers the
first 12 header bytes; it lets a scan recognise a record header anywhere without knowing the chain,
which is how a torn tail is told apart from damage in the middle (see `classify_damage`).

Flag SYNCED_BEFORE marks the first record written after an fsync returned. Finding such a record
after a damaged one proves the damaged one had been fsynced (and so possibly acknowledged): that
is corruption, never a torn write. A torn write can only hit records written since the last fsync.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from shoal.wal.facts import RecordType

HEADER = struct.Struct("<IBBHII")
HEAD12 = struct.Struct("<IBBHI")  # the header without its own checksum
U32 = struct.Struct("<I")
HEADER_SIZE = HEADER.size  # 16
ALIGN = 8
# Disks write whole sectors atomically; a sector a torn write never reached reads as zeros
# (preallocated or sparse space). 512 is the smallest sector size, so the safest unit to test.
SECTOR = 512

FLAG_SYNCED_BEFORE = 0x01

# The data of a SNAPSHOT record: the (index, term) of the snapshot it marks.
SNAPSHOT_MARKER = struct.Struct("<QQ")

_TYPES = frozenset(int(t) for t in RecordType)
_PAD = bytes(ALIGN)
_ZEROS = bytes(1 << 20)


def first_nonzero(buf: bytes, pos: int) -> int:
    """Offset of the first nonzero byte at or after `pos`, or -1. Comparing whole chunks against
    zeros runs at memcmp speed; a preallocated 64 MiB tail is scanned on every open."""
    n = len(buf)
    step = len(_ZEROS)
    while pos < n:
        chunk = buf[pos : pos + step]
        if chunk != _ZEROS[: len(chunk)]:
            return pos + len(chunk) - len(chunk.lstrip(b"\0"))
        pos += step
    return -1


def frame_size(data_len: int) -> int:
    return HEADER_SIZE + data_len + (-data_len % ALIGN)


def append_record(out: bytearray, rtype: int, data: bytes, prev_crc: int, flags: int = 0) -> int:
    """Append one framed record to `out`; return the new chain crc."""
    crc = zlib.crc32(data, prev_crc)
    n = len(data)
    head = HEAD12.pack(n, rtype, flags, 0, crc)
    out += head
    out += U32.pack(zlib.crc32(head))
    out += data
    pad = -n % ALIGN
    if pad:
        out += _PAD[:pad]
    return crc


# (offset, type, flags, data) of one good record: a plain tuple, as replay reads ~10^5 a second.
Record = tuple[int, int, int, bytes]

# Record types as plain ints for the hot paths (IntEnum lookups cost more than the work).
METADATA = int(RecordType.METADATA)
ENTRY = int(RecordType.ENTRY)
STATE = int(RecordType.STATE)
CRC = int(RecordType.CRC)
SNAPSHOT = int(RecordType.SNAPSHOT)


@dataclass(slots=True)
class Stop:
    """Where and why reading a segment stopped."""

    offset: int  # end of the last good record: where appending would resume
    reason: str  # "" for a clean end (end of file, or only zeros after the last record)
    header_ok: bool = False  # the header at `offset` is intact, so `extent_end` is its real end
    extent_end: int = 0  # end of the damaged record (header only, when the header is unreadable)
    fatal: bool = False  # damage no torn write can produce (e.g. a broken chain between segments)


def _header_at(buf: bytes, pos: int) -> tuple[int, int, int, int] | None:
    """(length, type, flags, crc) when a well-formed header starts at `pos`, else None."""
    if len(buf) - pos < HEADER_SIZE:
        return None
    length, rtype, flags, reserved, crc, hcrc = HEADER.unpack_from(buf, pos)
    if reserved != 0 or rtype not in _TYPES:
        return None
    if zlib.crc32(buf[pos : pos + 12]) != hcrc:
        return None
    return length, rtype, flags, crc


class SegmentReader:
    """Iterate over the good records of one segment; afterwards `stop` says where and why it ended.

    `crc` is the chain value carried in from the previous segment, or None when this is the first
    segment read (then the segment's leading CRC record is trusted as the start of the chain).
    """

    def __init__(self, buf: bytes, crc: int | None) -> None:
        self.buf = buf
        self.crc = crc
        self.stop = Stop(0, "")

    def __iter__(self) -> Iterator[Record]:
        buf = self.buf
        size = len(buf)
        pos = 0
        crc = self.crc
        unpack = HEADER.unpack_from
        crc32 = zlib.crc32
        while True:
            if pos == size:
                self.stop = Stop(pos, "")
                return
            if size - pos < HEADER_SIZE:
                reason = "truncated record header" if first_nonzero(buf, pos) >= 0 else ""
                self.stop = Stop(pos, reason, extent_end=size)
                return
            length, rtype, flags, reserved, rcrc, hcrc = unpack(buf, pos)
            if crc32(buf[pos : pos + 12]) != hcrc:
                if first_nonzero(buf, pos) < 0:
                    # Only zeros from here on: preallocated space after the last record.
                    self.stop = Stop(pos, "")
                else:
                    reason = "unreadable record header"
                    self.stop = Stop(pos, reason, extent_end=pos + HEADER_SIZE)
                return
            end = pos + HEADER_SIZE + length
            padded = end + (-length % ALIGN)
            if reserved != 0 or rtype not in _TYPES:
                reason = f"unknown record type {rtype}"
                self.stop = Stop(pos, reason, True, min(padded, size), fatal=True)
                return
            if end > size:
                self.stop = Stop(pos, "record runs past the end of the file", True, size)
                return
            data = buf[pos + HEADER_SIZE : end]
            if rtype == CRC:
                # The chain value carried over from the previous segment must be the one we hold.
                if crc is not None and rcrc != crc:
                    reason = "checksum chain broken at the start of a segment"
                    self.stop = Stop(pos, reason, True, min(padded, size), fatal=True)
                    return
                crc = rcrc
            elif crc is None:
                reason = "segment does not start with a crc record"
                self.stop = Stop(pos, reason, True, min(padded, size), fatal=True)
                return
            else:
                expect = crc32(data, crc)
                if expect != rcrc:
                    self.stop = Stop(pos, "crc mismatch", True, min(padded, size))
                    return
                crc = expect
            self.crc = crc
            yield pos, rtype, flags, data
            pos = padded


def _has_unwritten_sector(buf: bytes, start: int, end: int) -> bool:
    """Whether a disk sector touching [start, end) reads as zeros from `start` on: a sector the
    write never reached keeps its old content, and past `start` that was zeros (preallocated or
    sparse). One flipped byte never looks like this: the first chunk holds the record's header."""
    size = len(buf)
    sector = start - start % SECTOR
    while sector < end and sector < size:
        if not any(buf[max(sector, start) : min(sector + SECTOR, size)]):
            return True
        sector += SECTOR
    return False


def _headers_after(buf: bytes, start: int) -> tuple[bool, bool]:
    """(any record header after `start`, any written after an fsync): scans aligned offsets."""
    size = len(buf)
    pos = start + (-start % ALIGN)
    found = False
    while pos + HEADER_SIZE <= size:
        nz = first_nonzero(buf, pos)
        if nz < 0:
            break
        # Every header has a nonzero type byte within its first 8 bytes.
        pos = nz - nz % ALIGN
        head = _header_at(buf, pos)
        if head is None:
            pos += ALIGN
            continue
        found = True
        if head[2] & FLAG_SYNCED_BEFORE:
            return True, True
        pos += frame_size(head[0])
    return found, False


def classify_damage(buf: bytes, stop: Stop) -> bool:
    """For the last segment: True if the damage at `stop` is a torn write safe to cut off.

    Torn means: no record after it was written after a later fsync (so it was never synced, never
    acknowledged), and either nothing readable follows it at all, or a sector of it reads as
    zeros from the record's start on (a sector of the interrupted write that never reached the
    disk, with later ones that did). Anything else is corruption, and refused.
    """
    if stop.fatal:
        return False
    scan_from = stop.extent_end if stop.header_ok else stop.offset + ALIGN
    any_after, synced_after = _headers_after(buf, scan_from)
    if synced_after:
        return False
    if not any_after:
        return True
    return _has_unwritten_sector(buf, stop.offset, max(stop.extent_end, stop.offset + HEADER_SIZE))


def last_nonzero(buf: bytes) -> int:
    """Offset of the last nonzero byte, or -1 (chunked from the end, as `first_nonzero`)."""
    step = len(_ZEROS)
    end = len(buf)
    while end > 0:
        chunk = buf[max(0, end - step) : end]
        if chunk != _ZEROS[: len(chunk)]:
            return end - len(chunk) + len(chunk.rstrip(b"\0")) - 1
        end -= len(chunk)
    return -1
