"""`shoal up`: see shoal.cluster.commands."""

from shoal.cluster.commands import up as main

__all__ = ["main"]
