"""Stripe mapping, webhooks and sync tasks (billing issue)."""
