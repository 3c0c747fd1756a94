"""`shoal stop`: see shoal.cluster.commands."""

from shoal.cluster.commands import stop as main

__all__ = ["main"]
