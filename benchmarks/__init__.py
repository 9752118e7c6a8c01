"""Benchmarks of Portfolio Lens: run ``python -m benchmarks.run``; results go to ``benchmarks/RESULTS.md``."""
