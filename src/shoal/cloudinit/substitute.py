"""`$public_ipv4`-style substitution, as coreos-cloudinit applies it to the user-data text.

initialize/env.go: each variable is replaced everywhere in the text (before YAML parsing),
`\\$name` stands for a literal `$name`, and values come from the machine's metadata or, failing
that, from the COREOS_PUBLIC_IPV4 (...) variables. coreos-cloudinit substitutes an empty string for
a variable it has no value for; shoal reports that instead (`http://:2379` is never what was meant).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from shoal.cloudinit.schema import SUBSTITUTIONS

# Longest names first is not needed (no name is a prefix of another), but a word boundary is:
# `$public_ipv4x` is not the variable.
_VAR = re.compile(r"(\\?)(\$(?:public|private)_ipv[46])(?![A-Za-z0-9_])")


@dataclass(frozen=True, slots=True)
class Missing:
    line: int
    name: str


def values_from_environment(
    given: Mapping[str, str | None], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The substitution values: `given` (e.g. {"$public_ipv4": "127.0.0.10"}) first, then the
    COREOS_* variables of `environ` (os.environ by default). Unknown names raise KeyError."""
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for name, var in SUBSTITUTIONS.items():
        v = given.get(name) or env.get(var, "")
        if v:
            out[name] = v
    for name in given:
        if name not in SUBSTITUTIONS:
            raise KeyError(name)
    return out


def substitute(text: str, values: Mapping[str, str]) -> tuple[str, list[Missing]]:
    """The text with variables replaced, and each use of a variable that has no value."""
    missing: list[Missing] = []

    def repl(m: re.Match[str]) -> str:
        escaped, name = m.group(1), m.group(2)
        if escaped:
            return name
        if name in values:
            return values[name]
        missing.append(Missing(text.count("\n", 0, m.start()) + 1, name))
        return name

    return _VAR.sub(repl, text), missing


def uses(text: str) -> list[Missing]:
    """Every unescaped variable in `text`, with its line."""
    return substitute(text, {})[1]
