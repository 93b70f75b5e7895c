"""Benchmarks that print figures (``perpdex bench ...``); results go to docs/performance.md."""
