"""etcd's v2 auth (release-3.4 etcdserver/api/v2auth): users, roles, key permissions.

`model` holds users and roles as etcd stores and answers them (Go's JSON shapes, grant/revoke
merges, glob matching); `store` keeps them in the member's v2 store under /2 through raft, as
etcd does, so every member agrees after failover and restart; `access` decides, from a
request's credentials, whether it may touch a key, the members or the auth API.
"""
