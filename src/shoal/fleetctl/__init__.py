"""`shoal fleetctl`: fleetctl 1.0, fleet's command line client, over fleet's HTTP API v1.

A client only: from `shoal.fleet` it uses the API client and its typed objects (`client`,
`schema`), unit files (`unit`), fleet's constants (`facts`) and, for `why`, the scheduler's pure
rules; never the engine, the agent or the registry.

    main        global flags, dispatch to a command, exit codes
    flags       the flag tables and the parser (flags anywhere, FLEETCTL_* variables)
    help        the help screen
    context     one run: parsed flags, the API client, streams, the machine cache, parallel work
    output      machine legends, metadata, tables (--fields, --full, --no-legend)
    machines    list-machines
    units       list-units, submit, load, start, stop, unload, destroy, restart
    create      creating units from local files (templates, --replace), before submit/load/start
    waiting     waiting for units to reach a state (--block-attempts, --no-block)
    unitfiles   list-unit-files, cat
    status      status
    journal     journal (--lines, --follow)
    ssh         ssh (hands over to `shoal ssh`)
    why         why (shoal's own: the scheduler's reasons, machine by machine)
"""

from shoal.fleetctl.main import main

__all__ = ["main"]
