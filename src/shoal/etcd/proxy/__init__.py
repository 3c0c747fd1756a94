"""etcd's v2 proxy (etcd 3.4 `--proxy on|readonly`, and `--discovery-fallback proxy`): a process
that keeps no data and forwards every client request to one of the cluster's members.

- `director`: which client URLs to forward to, refreshed from the members, with the failure wait
  that keeps a dead endpoint out for a while (etcd's proxy/httpproxy/director.go);
- `reverse`: forwarding one request, answers streamed back, etcd's errors when no member answers
  (proxy/httpproxy/reverse.go);
- `server`: the cluster file kept in `<data-dir>/proxy/cluster`, the handler (readonly,
  `/v2/config/local/proxy`, CORS) and the listeners (etcdmain.startProxy, httpproxy/proxy.go).
"""
