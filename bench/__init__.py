"""Benchmarks: each script prints its figures; ``--small`` finishes in about a minute."""
