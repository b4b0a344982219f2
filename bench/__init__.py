"""Benchmarks: ``python -m bench NAME`` (or ``make bench`` for all). Never part of the tests."""
