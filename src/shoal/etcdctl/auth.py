"""user, role and auth commands (v2 auth, ctlv2/command/{user,role,auth}_commands.go).

Not implemented yet: shoal etcdctl reports them as unsupported.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shoal.etcdctl.context import Context

ACTIONS: dict[str, Callable[[Context], Coroutine[Any, Any, None]]] = {}
