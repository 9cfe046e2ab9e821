"""Dagster wiring: assets, checks, resources and jobs. Thin: each body loads, calls domain code, records."""
