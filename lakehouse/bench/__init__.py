"""Benchmark measurements: stage costs, the I/O limit and the DuckDB reference (`lakehouse bench`)."""
