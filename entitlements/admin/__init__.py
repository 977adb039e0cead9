"""Back-office screens for companies, users, subscriptions, traits and API keys (one module each)."""

from entitlements.admin import api_keys, companies, credits, overrides, plans, usage, users  # noqa: F401  (registers the ModelAdmins)
