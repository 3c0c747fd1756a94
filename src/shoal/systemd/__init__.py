"""systemd: the subset of systemd a shoal machine runs its units with.

Lower modules first; nothing here imports shoal.cloudinit or shoal.node:

    timespan    systemd time spans (`90s`, `5min 20s`): parse and format
    execline    ExecStart= command lines: prefixes, quoting, $VAR expansion
    envfile     EnvironmentFile= files
    unitfile    the unit file syntax: sections, assignments, drop-ins, names, specifiers
    service     [Unit]/[Service]/[Install] options read into typed config
    journal     the per-machine journal: write, read, follow
    notify      sd_notify: the NOTIFY_SOCKET server, and `python -m shoal.systemd.notify`
    units       the unit manager: load, start/stop jobs, supervised processes, restarts
    control     the manager's control socket (what systemd's private bus was to systemctl)
    machine     which machine a command means (`-M NODE`, `--root DIR`, $SHOAL_ROOT)
    systemctl   `shoal systemctl`
    journalctl  `shoal journal`
"""
