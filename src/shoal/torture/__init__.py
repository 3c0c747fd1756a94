"""`shoal torture`: prove the running cluster under faults, as etcd's functional tester and
Jepsen do (see README.md in this folder).

- `procs`: one member process (start, kill -9, SIGSTOP/SIGCONT, its log),
- `cluster`: the members of a run (boot, leader, health, hashes, membership changes),
- `workload`: the recorded clients (quorum reads, writes, CAS, in-order appends),
- `nemesis`: the seeded faults,
- `checks`: linearizability, acknowledged writes present, convergence,
- `run`: one run from boot to verdict and report; `cli`: the command line.
"""
