"""Child processes the way every shoal supervisor needs them (Linux first, portable fallbacks).

    spawn    start a command that dies with its parent (prctl PR_SET_PDEATHSIG), as the units of
             a powered-off machine or the members of a killed test harness must
    status   is a pid (or a process group) alive, where a zombie counts as gone; reap a child

Used by the unit manager (systemd/), `shoal up` (cluster/), torture and bench. On the lowest floor
(tests/test_layers.py): it imports nothing else from shoal.
"""
