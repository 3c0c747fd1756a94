"""The raft consensus core: a pure, deterministic state machine (no I/O, clock or asyncio)."""
