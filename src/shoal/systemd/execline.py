"""systemd command lines (`ExecStart=-/usr/bin/foo --bar "a b" ${X}`), parsed and expanded.

Facts from systemd.service(5) "Command lines": optional prefixes `-` (a failure is ignored), `@`
(the second word is argv[0]), `+` / `!` / `!!` (privilege flags) and `:` (no variable expansion);
words split on whitespace with "double" and 'single' quotes and C escapes; a lone `;` separates
several commands on one line (`\\;` is a literal `;`); at run time `${VAR}` is replaced inside a
word and a word that is exactly `$VAR` becomes the variable's whitespace-separated words; `$$` is
`$`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_PREFIXES = "-@+!:"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "s": " "}
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ExecSyntaxError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ExecCommand:
    path: str  # the program to run
    argv: tuple[str, ...]  # argv[0] included (the path itself unless `@` gave another)
    ignore_failure: bool = False  # `-`: a non-zero exit does not fail the unit
    privileged: bool = False  # `+`, `!` or `!!`: run with full privileges
    expand_variables: bool = True  # False with `:`
    line: int = 0

    def expanded(self, env: Mapping[str, str]) -> list[str]:
        """argv with `${VAR}` and `$VAR` replaced from `env`, as systemd does just before exec.

        Unset variables expand to nothing (a lone `$VAR` word disappears)."""
        if not self.expand_variables:
            return list(self.argv)
        out: list[str] = [self.argv[0]]
        for word in self.argv[1:]:
            m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
            if m:
                out.extend(env.get(m.group(1), "").split())
                continue
            out.append(_expand_braces(word, env))
        return out


def _expand_braces(word: str, env: Mapping[str, str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(word):
        if word.startswith("$$", i):
            out.append("$")
            i += 2
        elif word.startswith("${", i):
            end = word.find("}", i + 2)
            name = word[i + 2 : end] if end >= 0 else ""
            if end >= 0 and _VAR_NAME.fullmatch(name):
                out.append(env.get(name, ""))
                i = end + 1
            else:
                out.append(word[i])
                i += 1
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def split_words(text: str) -> list[tuple[str, bool]]:
    """Words of a command line, each with whether it was written quoted (a quoted ";" is text)."""
    words: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        buf: list[str] = []
        quoted = False
        while i < n and not text[i].isspace():
            c = text[i]
            if c in "\"'":
                quoted = True
                end = i + 1
                while end < n and text[end] != c:
                    if text[end] == "\\" and c == '"' and end + 1 < n:
                        buf.append(_unescape(text[end + 1]))
                        end += 2
                        continue
                    buf.append(text[end])
                    end += 1
                if end >= n:
                    raise ExecSyntaxError(f"unbalanced quotes in {text!r}")
                i = end + 1
            elif c == "\\" and i + 1 < n:
                nxt = text[i + 1]
                if nxt == ";":
                    quoted = True
                    buf.append(";")
                else:
                    buf.append(_unescape(nxt))
                i += 2
            else:
                buf.append(c)
                i += 1
        words.append(("".join(buf), quoted))
    return words


def _unescape(c: str) -> str:
    return _ESCAPES.get(c, c)


def parse_exec(value: str, line: int = 0) -> list[ExecCommand]:
    """One `Exec...=` value -> its commands (several when separated by a lone `;`)."""
    commands: list[ExecCommand] = []
    current: list[tuple[str, bool]] = []
    for word, quoted in split_words(value):
        if word == ";" and not quoted:
            if current:
                commands.append(_command(current, line))
            current = []
            continue
        current.append((word, quoted))
    if current:
        commands.append(_command(current, line))
    if not commands:
        raise ExecSyntaxError("empty command line")
    return commands


def _command(words: list[tuple[str, bool]], line: int) -> ExecCommand:
    first, quoted = words[0]
    prefix = ""
    if not quoted:
        while first and first[0] in _PREFIXES:
            prefix += first[0]
            first = first[1:]
    rest = [w for w, _ in words[1:]]
    if not first:
        # `- /bin/foo` (prefix alone) is not valid: systemd wants the prefix glued to the path.
        raise ExecSyntaxError(f"no program after prefix {prefix!r}")
    if "@" in prefix:
        if not rest:
            raise ExecSyntaxError(f"'@' needs argv[0] after {first}")
        argv = (rest[0], *rest[1:])
    else:
        argv = (first, *rest)
    return ExecCommand(
        path=first,
        argv=argv,
        ignore_failure="-" in prefix,
        privileged="+" in prefix or "!" in prefix,
        expand_variables=":" not in prefix,
        line=line,
    )
