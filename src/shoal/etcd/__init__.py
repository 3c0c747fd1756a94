"""The etcd member (`shoal etcd`), split as etcd's server/etcdserver is: `bootstrap` (new,
restart, join; `discovery/` fills in the initial cluster first), `raftnode` (tick and Ready
loop), `apply`, `requests` (proposals and reads), `membership`, `member` (the server the HTTP
layer talks to, through `server_iface`), `v2http/` (the client API), and `v2proxy`."""
