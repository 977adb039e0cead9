"""Prepaid credits: grants, the append-only ledger, burn, expiry (built with the credits issue)."""
