"""`shoal partition`: see shoal.cluster.commands."""

from shoal.cluster.commands import partition as main

__all__ = ["main"]
