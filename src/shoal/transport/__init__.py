"""Peer connections between members: framed raft messages over TCP on the peer URLs, with
reconnect and backoff, bounded per-peer queues, plain HTTP on the same port (/members,
/version, /_shoal/faults) and fault injection (partition, drop, delay).

The member uses `Transport`; see its docstring and `transport.py` for the contract.
"""

from shoal.transport.faults import Faults
from shoal.transport.peer_http import FAULTS_PATH
from shoal.transport.stats import Latency, PeerStats
from shoal.transport.transport import Transport

__all__ = ["FAULTS_PATH", "Faults", "Latency", "PeerStats", "Transport"]
