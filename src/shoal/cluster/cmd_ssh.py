"""`shoal ssh`: see shoal.cluster.commands."""

from shoal.cluster.commands import ssh as main

__all__ = ["main"]
