"""The catalog: features, plans, entitlements and prices (credit types and bundles join later)."""
