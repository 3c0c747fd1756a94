"""The etcd member: raft loop over wal + transport + store, bootstrap, membership, the v2 API."""
