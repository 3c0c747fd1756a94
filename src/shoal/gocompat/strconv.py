"""Go's strconv: ParseBool, ParseInt, ParseUint and Quote, with Go's error texts.

Errors are `NumError`s whose text is Go's: `strconv.ParseInt: parsing "x": invalid syntax` or
`...: value out of range`. The flag package reports these as just `parse error` /
`value out of range` (see `flag.py`), which is what etcd and etcdctl print.
"""

from __future__ import annotations

from typing import Final

SYNTAX: Final = "invalid syntax"
RANGE: Final = "value out of range"

_TRUE: Final = frozenset(("1", "t", "T", "TRUE", "true", "True"))
_FALSE: Final = frozenset(("0", "f", "F", "FALSE", "false", "False"))


class NumError(ValueError):
    """A failed conversion: `func` (e.g. "ParseBool"), the input, and SYNTAX or RANGE."""

    def __init__(self, func: str, num: str, err: str) -> None:
        super().__init__(f"strconv.{func}: parsing {quote(num)}: {err}")
        self.func = func
        self.num = num
        self.err = err


def parse_bool(s: str) -> bool:
    """strconv.ParseBool: exactly 1 t T TRUE true True / 0 f F FALSE false False."""
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise NumError("ParseBool", s, SYNTAX)


def parse_uint(s: str, base: int = 10, bits: int = 64) -> int:
    """strconv.ParseUint. Base 0 reads Go's prefixes (0x, 0o, 0b, and a bare leading 0 for
    octal) and allows `_` between digits; any other base takes digits only, no sign."""
    return _parse_uint("ParseUint", s, base, bits)


def parse_int(s: str, base: int = 10, bits: int = 64) -> int:
    """strconv.ParseInt: an optional sign, then ParseUint's digits, within `bits` signed."""
    if not s:
        raise NumError("ParseInt", s, SYNTAX)
    body, neg = s, False
    if s[0] in "+-":
        body, neg = s[1:], s[0] == "-"
    try:
        un = _parse_uint("ParseInt", body, base, bits)
    except NumError as e:
        if e.err != RANGE:
            raise NumError("ParseInt", s, e.err) from None
        raise NumError("ParseInt", s, RANGE) from None
    cutoff = 1 << (bits - 1)
    if (not neg and un >= cutoff) or (neg and un > cutoff):
        raise NumError("ParseInt", s, RANGE)
    return -un if neg else un


def _parse_uint(func: str, s: str, base: int, bits: int) -> int:
    if not s:
        raise NumError(func, s, SYNTAX)
    s0 = s
    base0 = base == 0
    if base0:
        base = 10
        if s[0] == "0":
            if len(s) >= 3 and s[1] in "bB":
                base, s = 2, s[2:]
            elif len(s) >= 3 and s[1] in "oO":
                base, s = 8, s[2:]
            elif len(s) >= 3 and s[1] in "xX":
                base, s = 16, s[2:]
            else:
                base, s = 8, s[1:]
    elif not 2 <= base <= 36:
        raise NumError(func, s0, f"invalid base {base}")
    max_val = (1 << bits) - 1
    n = 0
    underscores = False
    for c in s:
        if c == "_" and base0:
            underscores = True
            continue
        if "0" <= c <= "9":
            d = ord(c) - ord("0")
        elif "a" <= c.lower() <= "z" and c.isascii():
            d = ord(c.lower()) - ord("a") + 10
        else:
            raise NumError(func, s0, SYNTAX)
        if d >= base:
            raise NumError(func, s0, SYNTAX)
        n = n * base + d
        if n > max_val:
            raise NumError(func, s0, RANGE)
    if underscores and not _underscore_ok(s0):
        raise NumError(func, s0, SYNTAX)
    return n


def _underscore_ok(s: str) -> bool:
    # Go's rule: `_` only between digits, or between a base prefix and a digit.
    saw = "^"
    i = 0
    if s[:1] in ("+", "-"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i, saw, hexa = 2, "0", s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        i += 1
        if "0" <= c <= "9" or (hexa and "a" <= c.lower() <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


_SHORT_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def quote(s: str) -> str:
    """strconv.Quote (Go's %q): printable characters as they are, the rest escaped as Go
    escapes them. Bytes that were not UTF-8, carried surrogate-escaped, print as `\\xHH`."""
    out = ['"']
    for ch in s:
        esc = _SHORT_ESCAPES.get(ch)
        o = ord(ch)
        if esc is not None:
            out.append(esc)
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")  # a lone surrogate is not a rune Go could hold
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)
