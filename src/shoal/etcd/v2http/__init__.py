"""The member's client API: etcd v2's HTTP handlers (keys, members, stats, version, health).

After etcd's `server/etcdserver/api/v2http`; talks to the member only through `server_iface`.
"""
