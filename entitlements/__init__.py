"""Companies, users, subscriptions, API keys — and, with later issues, overrides, usage, the engine and the SDK API."""
