"""Credit amounts as people read them."""

from __future__ import annotations

from decimal import Decimal


def credits_text(amount: Decimal) -> str:
    """An amount of credits as people read it: ``1,000``, ``2.5`` (no trailing zeros, no exponent)."""
    return f"{(amount + 0).normalize():,f}"
