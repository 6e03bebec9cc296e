"""Benchmarks: data generators and measured runs (not part of the test suite)."""
