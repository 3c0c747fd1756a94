"""shoal: the CoreOS cluster of etcd2 + fleet + cloud-config, in Python.

Layers (imports point down only): raft, store, wal, transport -> etcd -> client -> fleet -> node
-> cluster -> cli. See DESIGN.md.
"""

__version__ = "0.1.0"
