"""Go's encoding/json as etcd's handlers use it: `json.Unmarshal` first checks the whole input
with its scanner and reports the first syntax error in its own words (`invalid character 'x'
after object key`, `unexpected end of JSON input`), including its nesting limit of 10,000
(`invalid character '[' exceeded max depth`); only a valid document is decoded.

`loads` does the same: the scan and the decode are loops over an explicit stack, so a document
nested 100,000 deep is refused as Go refuses it instead of exhausting Python's recursion (the
stdlib `json` gives up near 1,000). Values come back as `json.loads` gives them (objects through
`object_pairs_hook` when given); strings are decoded as Go decodes them (invalid UTF-8 becomes
U+FFFD).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 10000
"""encoding/json's maxNestingDepth (scanner.go)."""

END_OF_INPUT = "unexpected end of JSON input"


class JSONSyntaxError(ValueError):
    """The input is not JSON; `str(err)` is Go's *json.SyntaxError text, `offset` where the
    scanner stopped (Go's Offset: the bytes read, the bad one included)."""

    def __init__(self, text: str, offset: int) -> None:
        super().__init__(text)
        self.offset = offset


_WS = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = frozenset(b'bfnrt\\/"')
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}


def quote_char(c: int) -> str:
    """encoding/json's quoteChar: the byte as a Go rune literal (a byte above 0x7f is the rune
    U+00XX, which is how Go's scanner names it)."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    s = chr(c)
    if c < 0x20 or c == 0x7F:
        s = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}.get(
            c, f"\\x{c:02x}"
        )
    elif 0x80 <= c < 0xA0 or c == 0xAD:  # not printable as Go's strconv.IsPrint sees them
        s = f"\\u{c:04x}"
    return f"'{s}'"


def _error(data: bytes, i: int, context: str) -> JSONSyntaxError:
    return JSONSyntaxError(f"invalid character {quote_char(data[i])} {context}", i + 1)


def _cut(n: int, context: str) -> JSONSyntaxError:
    """The input ended inside a token: Go's eof() feeds the scanner a space, which the token's
    state refuses."""
    return JSONSyntaxError(f"invalid character ' ' {context}", n)


def scan(data: bytes) -> None:
    """Go's checkValid: raises JSONSyntaxError at the first error, as Go words it."""
    _Scanner(data).run()


def loads(
    data: bytes, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None
) -> Any:
    """json.Unmarshal into an interface{}: scan, then decode without recursion."""
    scanner = _Scanner(data)
    scanner.run()
    return _decode(data, scanner.max_depth, object_pairs_hook)


class _Scanner:
    """The scanner's states, walked over the bytes once. `max_depth` is the deepest nesting
    seen (for the decoder's choice of path)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.max_depth = 0

    def _skip_ws(self, i: int) -> int:
        data, n = self.data, len(self.data)
        while i < n and data[i] in _WS:
            i += 1
        return i

    def run(self) -> None:
        data, n = self.data, len(self.data)
        stack: list[int] = []  # ord("{") or ord("[") per open container
        # After a value: what the enclosing container expects next.
        i = self._value(0, stack)
        while True:
            i = self._skip_ws(i)
            if not stack:
                if i < n:
                    raise _error(data, i, "after top-level value")
                return
            if i >= n:
                raise JSONSyntaxError(END_OF_INPUT, n)
            c = data[i]
            if stack[-1] == 0x7B:  # in an object, after a value
                if c == 0x2C:  # ,
                    i = self._skip_ws(i + 1)
                    if i >= n:
                        raise JSONSyntaxError(END_OF_INPUT, n)
                    if data[i] != 0x22:
                        raise _error(data, i, "looking for beginning of object key string")
                    i = self._value(self._key(i), stack)
                    continue
                if c == 0x7D:  # }
                    stack.pop()
                    i += 1
                    continue
                raise _error(data, i, "after object key:value pair")
            if c == 0x2C:
                i = self._value(i + 1, stack)
                continue
            if c == 0x5D:  # ]
                stack.pop()
                i += 1
                continue
            raise _error(data, i, "after array element")

    def _key(self, i: int) -> int:
        """A key string at `i` and the colon after it; returns the index after the colon."""
        data, n = self.data, len(self.data)
        i = self._skip_ws(self._string(i))
        if i >= n:
            raise JSONSyntaxError(END_OF_INPUT, n)
        if data[i] != 0x3A:
            raise _error(data, i, "after object key")
        return i + 1

    def _push(self, i: int, stack: list[int]) -> None:
        stack.append(self.data[i])
        if len(stack) > MAX_DEPTH:
            raise _error(self.data, i, "exceeded max depth")
        self.max_depth = max(self.max_depth, len(stack))

    def _value(self, i: int, stack: list[int]) -> int:
        """A value starting at or after `i` (containers are opened on `stack` and their first
        element scanned, until a scalar or an empty container ends); returns the index after
        it."""
        data, n = self.data, len(self.data)
        while True:
            i = self._skip_ws(i)
            if i >= n:
                raise JSONSyntaxError(END_OF_INPUT, n)
            c = data[i]
            if c == 0x7B:  # {
                self._push(i, stack)
                i = self._skip_ws(i + 1)
                if i >= n:
                    raise JSONSyntaxError(END_OF_INPUT, n)
                if data[i] == 0x7D:
                    stack.pop()
                    return i + 1
                if data[i] != 0x22:
                    raise _error(data, i, "looking for beginning of object key string")
                i = self._key(i)
                continue
            if c == 0x5B:  # [
                self._push(i, stack)
                j = self._skip_ws(i + 1)
                if j < n and data[j] == 0x5D:
                    stack.pop()
                    return j + 1
                i += 1
                continue
            if c == 0x22:
                return self._string(i)
            if c == 0x2D or c in _DIGITS:
                return self._number(i)
            lit = _LITERALS.get(c)
            if lit is not None:
                for k in range(1, len(lit)):
                    context = f"in literal {lit.decode()} (expecting {quote_char(lit[k])})"
                    if i + k >= n:
                        raise _cut(n, context)
                    if data[i + k] != lit[k]:
                        raise _error(data, i + k, context)
                return i + len(lit)
            raise _error(data, i, "looking for beginning of value")

    def _string(self, i: int) -> int:
        """A string whose quote is at `i`; returns the index after the closing quote."""
        data, n = self.data, len(self.data)
        i += 1
        while True:
            if i >= n:
                raise JSONSyntaxError(END_OF_INPUT, n)
            c = data[i]
            if c == 0x22:
                return i + 1
            if c == 0x5C:  # backslash
                i += 1
                if i >= n:
                    raise _cut(n, "in string escape code")
                e = data[i]
                if e == 0x75:  # u
                    for k in range(1, 5):
                        if i + k >= n:
                            raise _cut(n, "in \\u hexadecimal character escape")
                        if data[i + k] not in _HEX:
                            raise _error(data, i + k, "in \\u hexadecimal character escape")
                    i += 5
                    continue
                if e not in _ESCAPES:
                    raise _error(data, i, "in string escape code")
                i += 1
                continue
            if c < 0x20:
                raise _error(data, i, "in string literal")
            i += 1

    def _number(self, i: int) -> int:
        """A number starting at `i`; returns the index after it (what follows is the
        caller's to judge, as Go's stateEndValue judges it)."""
        data, n = self.data, len(self.data)
        if data[i] == 0x2D:
            i += 1
            if i >= n:
                raise _cut(n, "in numeric literal")
            if data[i] not in _DIGITS:
                raise _error(data, i, "in numeric literal")
        if data[i] == 0x30:
            i += 1
        else:
            while i < n and data[i] in _DIGITS:
                i += 1
        if i < n and data[i] == 0x2E:  # .
            i += 1
            if i >= n:
                raise _cut(n, "after decimal point in numeric literal")
            if data[i] not in _DIGITS:
                raise _error(data, i, "after decimal point in numeric literal")
            while i < n and data[i] in _DIGITS:
                i += 1
        if i < n and data[i] in b"eE":
            i += 1
            if i < n and data[i] in b"+-":
                i += 1
            if i >= n:
                raise _cut(n, "in exponent of numeric literal")
            if data[i] not in _DIGITS:
                raise _error(data, i, "in exponent of numeric literal")
            while i < n and data[i] in _DIGITS:
                i += 1
        return i


# The stdlib decoder recurses once per level; well below its recursion limit it is the fast,
# exact path for a document already known to be valid.
_STDLIB_DEPTH = 200


def _decode(data: bytes, depth: int, hook: Callable[[list[tuple[str, Any]]], Any] | None) -> Any:
    text = data.decode("utf-8", "replace")
    if depth <= _STDLIB_DEPTH:
        return json.loads(text, object_pairs_hook=hook)
    return _decode_deep(text, hook)


def _decode_deep(text: str, hook: Callable[[list[tuple[str, Any]]], Any] | None) -> Any:
    """A valid document nested deeper than the stdlib decoder goes: containers are built on an
    explicit stack; scalars are handed to the stdlib one at a time."""
    decoder = json.JSONDecoder()
    # Each frame: [is_object, items, pending key].
    stack: list[list[Any]] = []
    i, n = 0, len(text)
    result: Any = None

    def ws(j: int) -> int:
        while j < n and text[j] in " \t\r\n":
            j += 1
        return j

    def close(value: Any) -> bool:
        """Put a finished value into its container; True when it was the top-level value."""
        nonlocal result
        if not stack:
            result = value
            return True
        frame = stack[-1]
        if frame[0]:
            frame[1].append((frame[2], value))
        else:
            frame[1].append(value)
        return False

    while True:
        i = ws(i)
        c = text[i]
        value: Any
        if c == "{" or c == "[":
            stack.append([c == "{", [], None])
            i = ws(i + 1)
            if text[i] in "}]":
                i += 1
                frame = stack.pop()
                value = (hook(frame[1]) if hook else dict(frame[1])) if frame[0] else frame[1]
            else:
                if c == "{":
                    stack[-1][2], i = decoder.raw_decode(text, i)
                    i = ws(i) + 1  # the colon
                continue
        else:
            value, i = decoder.raw_decode(text, i)
        # A value ended: close containers that end here, then move to the next element.
        while True:
            if close(value):
                return result
            i = ws(i)
            if text[i] == ",":
                i = ws(i + 1)
                if stack[-1][0]:
                    stack[-1][2], i = decoder.raw_decode(text, i)
                    i = ws(i) + 1
                break
            i += 1  # } or ]
            frame = stack.pop()
            value = (hook(frame[1]) if hook else dict(frame[1])) if frame[0] else frame[1]
