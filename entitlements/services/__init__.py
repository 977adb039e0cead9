"""Every write to companies, users, subscriptions and API keys, one module per aggregate."""
