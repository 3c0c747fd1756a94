"""The member's side of etcd discovery: the v2 token protocol, DNS SRV, and the start order.

After etcd's `server/etcdserver/api/v2discovery`; not the `shoal discovery` service
(`shoal.discovery`), which hosts tokens for members to join through.
"""
