"""EnvironmentFile= contents (`KEY=value` lines) as systemd reads them.

systemd's rules (parse_env_file in src/basic/env-file.c): a line whose first non-blank character
is `#` or `;` is a comment, but a `#` later in a line is part of the value (hence the validator's
warning); whitespace around the key and before the value is dropped, trailing whitespace of an
unquoted value too; "double quotes" keep everything and honour `\\"`, `\\\\`, `\\$` and `` \\` ``;
'single quotes' are literal; an unquoted backslash escapes the next character and a backslash at
the end of a line continues the value on the next one. Lines with an invalid name are ignored.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_env_file(text: str) -> tuple[dict[str, str], list[str]]:
    """The variables set by `text`, and one warning per ignored line (`line N: ...`)."""
    env: dict[str, str] = {}
    warnings: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in "#;":
            continue
        key, sep, rest = line.partition("=")
        key = key.strip()
        if not sep or not _NAME.match(key):
            warnings.append(f"line {lineno}: not a KEY=VALUE assignment, ignored: {line!r}")
            continue
        value, consumed = _value(rest.lstrip(), lines, i)
        i += consumed
        env[key] = value
    return env, warnings


def _value(s: str, lines: list[str], next_index: int) -> tuple[str, int]:
    """The value starting in `s`, and how many further lines a continuation consumed."""
    out: list[str] = []
    pending_space = ""  # unquoted trailing whitespace, kept only if more value follows
    consumed = 0
    pos = 0
    while True:
        if pos >= len(s):
            break
        c = s[pos]
        if c == '"':
            out.append(pending_space)
            pending_space = ""
            pos += 1
            while True:
                if pos >= len(s):
                    # A newline inside double quotes is part of the value.
                    if next_index + consumed >= len(lines):
                        break
                    out.append("\n")
                    s = lines[next_index + consumed]
                    consumed += 1
                    pos = 0
                    continue
                ch = s[pos]
                if ch == '"':
                    pos += 1
                    break
                if ch == "\\" and pos + 1 < len(s) and s[pos + 1] in '"\\`$':
                    out.append(s[pos + 1])
                    pos += 2
                    continue
                out.append(ch)
                pos += 1
        elif c == "'":
            out.append(pending_space)
            pending_space = ""
            end = s.find("'", pos + 1)
            if end < 0:
                out.append(s[pos + 1 :])
                pos = len(s)
            else:
                out.append(s[pos + 1 : end])
                pos = end + 1
        elif c == "\\":
            out.append(pending_space)
            pending_space = ""
            if pos + 1 < len(s):
                out.append(s[pos + 1])
                pos += 2
            else:
                # Line continuation.
                if next_index + consumed >= len(lines):
                    break
                s = lines[next_index + consumed]
                consumed += 1
                pos = 0
        elif c.isspace():
            pending_space += c
            pos += 1
        else:
            out.append(pending_space)
            pending_space = ""
            out.append(c)
            pos += 1
    return "".join(out), consumed
