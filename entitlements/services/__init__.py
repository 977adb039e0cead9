"""Every write of the entitlements app, one module per aggregate: companies, users, keys, traits and trait
definitions, subscriptions, trials, overrides, API keys, usage and capture, credit burns on usage and plan credits.

Each service validates, writes in one transaction, records an audit entry and emits its domain events
(``entitlements.events``); it never pushes or bumps caches itself: subscribers do that after commit.
"""
