"""Go's text for an errno (syscall.Errno's Error()): the C library's strerror with a lower-case
first letter, e.g. "connection refused", "address already in use", "permission denied".

Go's messages wrap it as `<op> <address>: <errno text>` (`dial tcp 127.0.0.1:2380: connect:
connection refused`, `mkdir /x: read-only file system`); what a Python OSError prints
(`[Errno 111] Connect call failed ('127.0.0.1', 2380)`) is no text an etcd user knows.
"""

from __future__ import annotations

import os


def errno_text(code: int) -> str:
    text = os.strerror(code)
    return text[:1].lower() + text[1:]


def os_error_text(e: OSError) -> str:
    """The errno part of an OSError as Go prints it (its str() when it carries no errno)."""
    if e.errno:
        return errno_text(e.errno)
    return str(e) or type(e).__name__
