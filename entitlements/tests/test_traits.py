"""Trait values are checked against their type and stored in the string form the rules engine parses."""

from __future__ import annotations

from typing import Any

import pytest

from entitlements.rules.traits import TraitValueError, trait_type_infer, trait_value_decode, trait_value_encode


@pytest.mark.parametrize(
    ("trait_type", "value", "stored"),
    [
        ("int", 5, "5"),
        ("int", "12", "12"),
        ("int", 3.0, "3"),
        ("bool", True, "true"),
        ("bool", "FALSE", "false"),
        ("string", "eu", "eu"),
        ("string", 7, "7"),
        ("date", "2025-01-31", "2025-01-31"),
        ("date", "2025-01-31T10:00:00+02:00", "2025-01-31T08:00:00Z"),
    ],
)
def test_trait_value_encode__fitting_value__canonical_string(trait_type: str, value: Any, stored: str) -> None:
    assert trait_value_encode(trait_type, value) == stored


@pytest.mark.parametrize(
    ("trait_type", "value"),
    [
        ("int", "many"),
        ("int", True),
        ("int", 2.5),
        ("bool", "yes"),
        ("bool", 1),
        ("date", "31/01/2025"),
        ("date", "2025-01-31T10:00:00"),
        ("string", None),
        ("string", {"a": 1}),
        ("int", [1]),
    ],
)
def test_trait_value_encode__unfitting_value__refused(trait_type: str, value: Any) -> None:
    with pytest.raises(TraitValueError):
        trait_value_encode(trait_type, value)


def test_trait_type_infer__json_values__bool_int_string() -> None:
    assert [trait_type_infer(v) for v in (True, 3, "x", 2.5)] == ["bool", "int", "string", "string"]


def test_trait_value_decode__stored_strings__json_values() -> None:
    assert trait_value_decode("int", "5") == 5
    assert trait_value_decode("bool", "true") is True
    assert trait_value_decode("date", "2025-01-31") == "2025-01-31"
