"""`shoal down`: see shoal.cluster.commands."""

from shoal.cluster.commands import down as main

__all__ = ["main"]
