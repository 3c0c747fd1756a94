"""cloudinit: the cloud-config of coreos-cloudinit, parsed, validated and applied.

Lower modules first. It imports shoal.systemd only to read unit contents as systemd would, and
for machine names (`coreos-0N`); nothing here imports shoal.node:

    yamltree    YAML with line numbers (each node keeps its resolved kind and its text)
    schema      the cloud-config's keys, types and coreos-cloudinit's facts
    report      findings as `line N: error: ...` and the CloudConfigInvalid error
    decode      write_files encodings and permissions
    substitute  `$public_ipv4` & co
    etcd2       coreos.etcd2 settings etcd would refuse at start
    validate    the validator (coreos-cloudinit's `--validate`)
    config      a cloud-config as typed values: `load(text)`
    users       users and SSH keys: passwd/group/shadow and authorized_keys under a root
    apply       write a cloud-config's effects under a machine's root directory
    template    the seed's cloud-config as a template for `shoal up`'s machines (data/)
    cli         `shoal cloudinit`
"""
