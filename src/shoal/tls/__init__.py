"""TLS as etcd configures it (pkg/transport TLSInfo): certificate files -> `ssl.SSLContext`s.

`info` holds `TLSInfo` (one side's files and switches, as etcd's flags give them) and its
server and client contexts; `files` checks certificate and key files and says what is wrong with
one in a line; `certs` makes keys and certificates (etcd's --auto-tls self-signed pair, and the
CA and per-machine certificates of `shoal up --tls`); `ciphers` maps Go's cipher-suite names to
OpenSSL's. Nothing here knows about HTTP, raft or etcd's members.
"""

from shoal.tls.files import TLSError
from shoal.tls.info import TLSInfo, client_context, peer_common_name

__all__ = ["TLSError", "TLSInfo", "client_context", "peer_common_name"]
