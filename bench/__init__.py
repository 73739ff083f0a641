"""Benchmarks for the playground: added latency, streaming, concurrency, render cost, page weight,
live markdown, the catalogue and the audit.

Run ``python -m bench`` (or ``make bench``) from the repository root; see ``bench/__main__.py``.
"""
