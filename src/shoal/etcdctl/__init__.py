"""`shoal etcdctl`: etcd 3.4's etcdctl in its v2 mode (ETCDCTL_API=2), same output and exit codes.

Layout: `spec` (commands and flags as data), `flags` (Go/urfave parsing), `help` (help screens),
`context` (client construction: endpoints, sync, TLS, --debug), `output` (formats, errors),
and one module per command family (`keys`, `watching`, `cluster`, `auth`); `main` dispatches.
"""

from shoal.etcdctl.main import main

__all__ = ["main"]
