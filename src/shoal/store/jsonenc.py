"""JSON the way Go's encoding/json writes it, for the few value types v2 responses hold.

Clients compare bodies byte for byte more often than one would hope, so strings are escaped as
Go 1.19 (the compiler of etcd 3.4.23) escapes them: `<`, `>`, `&`, U+2028 and U+2029 as
\\u escapes, control characters other than \\n \\r \\t as \\u00XX (no \\b or \\f short forms),
everything else, non-ASCII included, written as is. (Times: gocompat.rfc3339.)
"""

from __future__ import annotations

import json
import re

_encode_basestring = json.encoder.encode_basestring

# Characters where Python's escaping differs from Go's; a lone surrogate (a surrogate-escaped
# byte that is not UTF-8) is written as the escape \ufffd, as Go writes each invalid byte.
_GO_DIFFERS = re.compile("[<>&\b\f\u2028\u2029\ud800-\udfff]")
_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\b": "\\u0008",
    "\f": "\\u000c",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def go_string(s: str) -> str:
    """`s` as a quoted JSON string, escaped exactly as Go's json.Marshal escapes it."""
    if _GO_DIFFERS.search(s) is None:
        return _encode_basestring(s)
    # Rare: a character Python escapes differently from Go. Go's rules, one by one.
    out = ['"']
    for ch in s:
        esc = _GO_ESCAPES.get(ch) or _SHORT.get(ch)
        if esc is not None:
            out.append(esc)
        elif "\ud800" <= ch <= "\udfff":
            out.append("\\ufffd")
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
