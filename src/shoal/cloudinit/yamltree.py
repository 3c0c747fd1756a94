"""YAML with line numbers: the cloud-config as a tree whose every node knows its line.

coreos-cloudinit's validator reads the document twice, loosely (YAML's implicit types: `off` is a
bool, `0644` an octal int) and strictly (into its Go structs, where a string field takes the
scalar's text as written). Keeping each scalar's resolved kind *and* its text gives both readings
at once: type checks use the resolved kind, string fields use the text, so
`reboot-strategy: off` and `permissions: 0644` mean what the user wrote. YAML 1.1 (PyYAML)
resolves like go-yaml v1 did.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Literal

import yaml

WeakKind = Literal["string", "int", "float64", "bool", "map", "slice", "null"]

_TAG_KIND: dict[str, WeakKind] = {
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float64",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
}


@dataclass(slots=True)
class YNode:
    kind: WeakKind
    line: int  # 1-based line where the node starts
    text: str = ""  # a scalar's text as written (after YAML unquoting/folding)
    style: str | None = None  # '|' or '>' for block scalars, quote character, or None
    binary: bytes | None = None  # the bytes of a `!!binary` scalar (its text is the base64)
    # map entries: (key as written, the key's line, value); seq elements in order
    entries: list[tuple[str, int, YNode]] = field(default_factory=list)
    elems: list[YNode] = field(default_factory=list)

    @property
    def content_first_line(self) -> int:
        """The line of a scalar's first character of content (the line after `|` for blocks)."""
        return self.line + 1 if self.style in ("|", ">") else self.line

    def get(self, key: str) -> YNode | None:
        """A mapping's value for `key` (dashes and underscores equivalent); the last one wins."""
        want = key.replace("-", "_")
        found = None
        for k, _, v in self.entries:
            if k.replace("-", "_") == want:
                found = v
        return found

    def key_line(self, key: str) -> int:
        want = key.replace("-", "_")
        line = self.line
        for k, ln, _ in self.entries:
            if k.replace("-", "_") == want:
                line = ln
        return line

    def as_bool(self) -> bool:
        """A bool field's value (only meaningful when kind == 'bool')."""
        return self.kind == "bool" and self.text.lower() in ("y", "yes", "true", "on")


class YamlError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def load(text: str) -> YNode | None:
    """The document's tree, or None for an empty document. Raises YamlError with the parser's
    line and message."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = e.problem or "invalid YAML"
        if e.context:
            problem = f"{problem} ({e.context})"
        raise YamlError(line, problem) from None
    except yaml.YAMLError as e:  # unmarked errors (e.g. a bad encoding)
        raise YamlError(1, str(e)) from None
    if root is None:
        return None
    return _convert(root, set())


def _convert(n: yaml.Node, seen: set[int]) -> YNode:
    line = n.start_mark.line + 1
    if id(n) in seen:
        # An alias that refers to itself: YAML allows it, a config cannot use it.
        raise YamlError(line, "recursive alias")
    if isinstance(n, yaml.MappingNode):
        seen = seen | {id(n)}
        out = YNode("map", line)
        for k, v in n.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
            out.entries.append((key, k.start_mark.line + 1, _convert(v, seen)))
        return out
    if isinstance(n, yaml.SequenceNode):
        seen = seen | {id(n)}
        return YNode("slice", line, elems=[_convert(e, seen) for e in n.value])
    assert isinstance(n, yaml.ScalarNode)
    kind: WeakKind = _TAG_KIND.get(n.tag, "string")
    binary = None
    if n.tag == "tag:yaml.org,2002:binary":
        try:
            binary = base64.decodebytes(str(n.value).encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            raise YamlError(line, "!!binary value is not base64") from None
    return YNode(kind, line, text=str(n.value), style=n.style, binary=binary)
