"""fleet: the cluster scheduler of CoreOS (coreos/fleet v1.0), on etcd's v2 API.

One concept per module, lower ones first:

    facts       fleet's constants: key names, defaults, states, messages (with their sources)
    unit        unit files, the unit hash, names/templates, [X-Fleet] requirements and validation
    scheduler   placement as pure functions: AbleToRun, least-loaded choice, the engine's plan,
                and `explain` for `fleetctl why`
    etcdv2      the etcd calls fleet makes, over shoal's shared client (+ a streaming watch)
    registry    fleet's key layout in etcd, typed records, every read and write
    mirror      a local copy of the keyspace kept current by one streaming watch
    runner      the UnitRunner interface and the plain process runner (fleetd alone)
    runner_node the UnitRunner that drives `shoal node`'s unit manager over its control socket
    agent       machine presence (TTL), running what is scheduled here, publishing unit states
    engine      the leader lease and the reconcile loop
    api         the HTTP API v1 (unix socket, optionally TCP)
    config      fleetd's options: fleet.conf, FLEET_* variables, flags; the machine ID
    fleetd      `shoal fleetd`
    schema      the API's objects as a client reads them: Machine, Unit, UnitState
    client      the HTTP API client fleetctl uses

`shoal fleetctl` is a package of its own, `shoal.fleetctl`: a client of this one.
"""
