"""`shoal start`: see shoal.cluster.commands."""

from shoal.cluster.commands import start as main

__all__ = ["main"]
