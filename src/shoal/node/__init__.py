"""node: the machine daemon (`shoal node`), on top of shoal.cloudinit and shoal.systemd.

machine_units  the unit files a shoal machine ships (etcd2, fleet, docker)
etcd_ready     `python -m shoal.node.etcd_ready URL`: etcd2.service's readiness wait
daemon         `shoal node`: apply the cloud-config, run the units, serve the control socket
"""
