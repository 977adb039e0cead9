"""The catalog: features, plans, entitlements and prices, and the credit types, bundles and plan credit grants."""
