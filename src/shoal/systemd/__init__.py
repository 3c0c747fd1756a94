"""systemd: the subset of systemd a shoal machine runs its units with.

Lower modules first; nothing here imports shoal.cloudinit or shoal.node:

    timespan    systemd time spans (`90s`, `5min 20s`): parse and format
    execline    ExecStart= command lines: prefixes, quoting, $VAR expansion
    envfile     EnvironmentFile= files
    unitfile    the unit file syntax: sections, assignments, drop-ins, names, specifiers
    service     [Unit]/[Service]/[Install] options read into typed config
    journal     the per-machine journal: write, read, follow
    notify      sd_notify: the NOTIFY_SOCKET server, and `python -m shoal.systemd.notify`
    process     spawning a command in its own process group; is a pid or group alive
    unit        a unit's runtime state (systemd's load/active/sub states), exit statuses
    supervisor  a service's processes from start to stop: Type=, timeouts, kills, Restart=
    manager     the unit manager: the unit cache, start/stop jobs and their dependencies
    control     the manager's control socket (what systemd's private bus was to systemctl)
    machine     which machine a command means (`-M NODE`, `--root DIR`, $SHOAL_ROOT)
    systemctl   `shoal systemctl`
    journalctl  `shoal journal`
"""
