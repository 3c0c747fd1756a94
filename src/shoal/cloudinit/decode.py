"""write_files content encodings and permission strings, as coreos-cloudinit reads them.

Facts from config/decode.go and system/file.go: `b64`/`base64` is standard base64, `gz`/`gzip` is
gzip of the YAML text itself, and the `gz+b64` family is base64 of gzip; permissions are an octal
string (`0644`, `644`, `'0644'`), and an absent one means 0644.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import zlib

from shoal.cloudinit.schema import PERMISSIONS_PATTERN

DEFAULT_PERMISSIONS = 0o644


class DecodeError(ValueError):
    pass


def _b64(text: str) -> bytes:
    try:
        # Go's StdEncoding ignores \r and \n but nothing else; so does this.
        return base64.b64decode(text.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError) as e:
        raise DecodeError(f"invalid base64: {e}") from None


def _gunzip(data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise DecodeError(f"invalid gzip: {e}") from None


def decode_content(content: str | bytes, encoding: str) -> bytes:
    """The bytes a write_files entry puts on disk; raises DecodeError. `content` is the YAML
    text, or the bytes of a `!!binary` value (how raw gzip can be written in YAML)."""
    raw = content if isinstance(content, bytes) else content.encode("utf-8")
    if encoding == "":
        return raw
    if encoding in ("b64", "base64"):
        return _b64(raw.decode("ascii", errors="replace"))
    if encoding in ("gz", "gzip"):
        return _gunzip(raw)
    if encoding in ("gz+base64", "gzip+base64", "gz+b64", "gzip+b64"):
        return _gunzip(_b64(raw.decode("ascii", errors="replace")))
    raise DecodeError(f"unsupported encoding {encoding!r}")


def parse_permissions(text: str) -> int:
    """`0644` -> 0o644; '' -> 0o644. Raises ValueError for text outside `^0?[0-7]{3,4}$`."""
    if text == "":
        return DEFAULT_PERMISSIONS
    if not re.match(PERMISSIONS_PATTERN, text):
        raise ValueError(f"invalid permissions {text!r}")
    return int(text, 8)
