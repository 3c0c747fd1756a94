"""A FUSE file system for fault tests: power cuts that drop what was never synced, EIO, a full
disk and slow fsyncs, under a real member (`daemon` runs it, `mount.FaultMount` drives it)."""
