"""`shoal kill`: see shoal.cluster.commands."""

from shoal.cluster.commands import kill as main

__all__ = ["main"]
