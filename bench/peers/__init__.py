"""Peers side by side: the playground, the LiteLLM proxy and the Portkey gateway, one upstream.

Run ``python -m bench.peers`` (or ``make bench-peers``, which installs the peers first); see
``bench/peers/__main__.py`` and the "Peers side by side" section of ``bench/README.md``.
"""
