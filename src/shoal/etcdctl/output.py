"""How etcdctl v2 prints responses and errors (ctlv2/command/format.go and error.go).

`-o simple` prints the value (`PrevNode.Value: v` for a delete), `-o extended` an RFC 2822-ish
block, `-o json` the Go client's Response struct marshalled by encoding/json (so `nodes` is
`null` when absent, `value` always present, and <, >, & escaped as \\u003c etc.).
"""

from __future__ import annotations

import json
from typing import TextIO

from shoal.client import ClusterError, Node, Response
from shoal.etcdctl.spec import Exit

_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
    "\b": "\\u0008",
    "\f": "\\u000c",
}


def go_json_string(s: str) -> str:
    """encoding/json's string form (HTML-safe escaping, UTF-8 kept as is)."""
    out = json.dumps(s, ensure_ascii=False)
    if any(c in out for c in "<>&\u2028\u2029") or "\\b" in out or "\\f" in out:
        out = out.replace("\\b", "\b").replace("\\f", "\f")
        out = "".join(_GO_ESCAPES.get(c, c) for c in out)
    return out


def go_json_node(node: Node | None) -> str:
    if node is None:
        return "null"
    parts = [f'"key":{go_json_string(node.key)}']
    if node.dir:
        parts.append('"dir":true')
    parts.append(f'"value":{go_json_string(node.value)}')
    if node.nodes:
        parts.append('"nodes":[' + ",".join(go_json_node(n) for n in node.nodes) + "]")
    else:
        parts.append('"nodes":null')
    parts.append(f'"createdIndex":{node.created_index}')
    parts.append(f'"modifiedIndex":{node.modified_index}')
    if node.expiration is not None:
        parts.append(f'"expiration":{go_json_string(node.expiration)}')
    if node.ttl:
        parts.append(f'"ttl":{node.ttl}')
    return "{" + ",".join(parts) + "}"


def go_json_response(resp: Response) -> str:
    return (
        f'{{"action":{go_json_string(resp.action)},"node":{go_json_node(resp.node)},'
        f'"prevNode":{go_json_node(resp.prev_node)}}}'
    )


def print_response(resp: Response, fmt: str, out: TextIO, err: TextIO) -> None:
    if fmt == "simple":
        if resp.action != "delete":
            out.write(resp.node.value + "\n")
        else:
            prev = resp.prev_node.value if resp.prev_node is not None else ""
            out.write(f"PrevNode.Value: {prev}\n")
    elif fmt == "extended":
        lines = [
            f"Key: {resp.node.key}",
            f"Created-Index: {resp.node.created_index}",
            f"Modified-Index: {resp.node.modified_index}",
        ]
        if resp.prev_node is not None:
            lines.append(f"PrevNode.Value: {resp.prev_node.value}")
        lines += [f"TTL: {resp.node.ttl}", f"Index: {resp.index}"]
        if resp.action != "delete":
            lines += ["", resp.node.value]
        out.write("\n".join(lines) + "\n")
    elif fmt == "json":
        out.write(go_json_response(resp) + "\n")
    else:
        err.write(f"Unsupported output format: {fmt}\n")


def fail(err: TextIO, code: int, error: BaseException | str) -> Exit:
    """handleError: `Error:  <err>` (two spaces: Go's Println of "Error: " and err), plus the
    per-endpoint detail of a ClusterError. Returns the Exit for the caller to raise."""
    err.write(f"Error:  {error}\n")
    if isinstance(error, ClusterError):
        err.write(error.detail() + "\n")
    return Exit(code)
