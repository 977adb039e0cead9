"""Public identifiers with a type prefix (``feat_…``, ``plan_…``, ``comp_…``).

Every object the API exposes is addressed by one of these; integer primary keys stay internal.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from django.db import models

_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 20  # ~119 bits of randomness: collisions are not a practical concern


def public_id_generate(prefix: str) -> str:
    """Return a new random id ``<prefix>_<20 base62 chars>``."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))


class PublicIdField(models.CharField):
    """A unique, indexed, non-editable CharField filled with ``<prefix>_…`` on creation."""

    def __init__(self, *args: Any, prefix: str, **kwargs: Any) -> None:
        self.prefix = prefix
        kwargs.setdefault("max_length", len(prefix) + 1 + _RANDOM_LENGTH)
        kwargs["unique"] = True
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def get_default(self) -> str:
        return public_id_generate(self.prefix)

    def has_default(self) -> bool:
        return True

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        kwargs.pop("unique", None)
        kwargs.pop("editable", None)
        return name, path, args, kwargs
