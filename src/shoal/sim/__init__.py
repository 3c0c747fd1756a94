"""Deterministic simulation of shoal's components over a simulated network and clock."""
