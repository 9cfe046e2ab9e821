"""Benchmarks: scripts that print a table and, with --write, update BENCHMARKS.md."""
