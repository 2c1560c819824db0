"""Benchmarks: run ``python -m bench`` (or ``make bench``)."""
