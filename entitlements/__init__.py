"""Companies and what they may do: companies, users, keys and traits, subscriptions, overrides, trials, API keys, usage
events and counters; the pure rules engine and the documents it reads; the SDK door (checks and capture), the
datastream, the entitlement board, the periodic jobs, the domain events of all of it, and the demo data.

The rooms (``docs/architecture.md``): ``sdk/``, ``datastream/``, ``board/``, ``jobs/`` and ``demo/`` over
``services/``, which write and emit ``events``; ``documents/`` compile and cache what checks read; ``rules/`` and
``engine/`` are pure; ``models/`` at the bottom. An import-linter contract holds the order.
"""
