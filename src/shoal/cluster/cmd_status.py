"""`shoal status`: see shoal.cluster.commands."""

from shoal.cluster.commands import status as main

__all__ = ["main"]
