"""`shoal heal`: see shoal.cluster.commands."""

from shoal.cluster.commands import heal as main

__all__ = ["main"]
