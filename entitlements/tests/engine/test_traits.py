"""Trait conditions by comparable type (PROTOCOL.md §5.2.4), and how trait strings are read; VERIFIED on the engine."""

from __future__ import annotations

import datetime as dt

import pytest

from entitlements.engine.values import parse_date_ns, parse_int, parse_number
from entitlements.tests.engine.builders import company, definition, trait, trait_condition, user
from entitlements.tests.engine.builders import matches as standard_rule_matches


def _holds(comparable_type: str, left: str | None, operator: str, right: str, **context: object) -> bool:
    traits = [] if left is None else [trait("td_1", left, comparable_type)]
    return standard_rule_matches(
        trait_condition(operator, right, comparable_type), company=company(traits=traits), **context
    )


@pytest.mark.parametrize(
    ("left", "operator", "right", "expected"),
    [
        ("5", "lte", "10", True),
        ("10", "lte", "10", True),
        ("11", "lte", "10", False),
        ("+5", "eq", "5", True),
        ("050", "eq", "50", True),
        ("5.0", "eq", "5", True),
        ("5.9", "gt", "5", True),
        ("5.9", "lt", "6", True),
        ("1e3", "eq", "1000", True),
        (" 5", "eq", "0", True),
        ("abc", "eq", "0", True),
        ("0x10", "eq", "0", True),
        ("inf", "eq", "0", True),
        ("9223372036854775808", "gt", "0", True),
        ("9007199254740993", "gt", "9007199254740992", True),
        ("5", "unknown", "5", False),
    ],
)
def test_int_trait__comparison__numbers_with_unreadable_as_zero(
    left: str, operator: str, right: str, expected: bool
) -> None:
    assert _holds("int", left, operator, right) is expected


@pytest.mark.parametrize(
    ("left", "is_empty", "not_empty"), [("0", True, False), ("0.4", False, True), ("-3", False, False)]
)
def test_int_trait__emptiness__zero_is_empty_positive_is_not(left: str, is_empty: bool, not_empty: bool) -> None:
    assert _holds("int", left, "is_empty", "") is is_empty
    assert _holds("int", left, "not_empty", "") is not_empty


def test_int_trait__missing__reads_zero() -> None:
    assert _holds("int", None, "lte", "10")  # VERIFIED E-missing
    assert _holds("int", None, "is_empty", "")


def test_int_trait__preflight_usage__added_to_strict_integer() -> None:
    assert not _holds("int", "10", "lte", "10", options={"usage": 1})
    # a non-integer left side is replaced by the usage itself (9.6 → 0 + 1)
    assert _holds("int", "9.6", "eq", "1", options={"usage": 1})
    # event_usage never applies to traits
    assert _holds("int", "10", "lte", "10", options={"event_usage": {"event_subtype": "api-call", "quantity": 5}})


def test_int_trait__preflight_overflow__wraps_like_int64() -> None:
    assert _holds("int", "9223372036854775807", "lt", "0", options={"usage": 1})


@pytest.mark.parametrize(
    ("left", "operator", "right", "expected"),
    [
        ("9", "lte", "10", False),
        ("9", "gt", "10", True),
        ("abc", "lt", "abd", True),
        ("B", "lt", "a", True),
        ("", "is_empty", "", True),
        ("a", "not_empty", "", True),
        ("é", "gt", "z", True),
    ],
)
def test_string_trait__comparison__lexicographic_by_code_point(
    left: str, operator: str, right: str, expected: bool
) -> None:
    assert _holds("string", left, operator, right) is expected


def test_string_trait__preflight__ignored() -> None:
    assert _holds("string", "10", "eq", "10", options={"usage": 1})


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        ("true", "true", True),
        ("1", "true", True),
        ("TRUE", "true", False),
        ("True", "false", True),
        ("yes", "false", True),
        (" true", "false", True),
        ("0", "false", True),
    ],
)
def test_bool_trait__equality__only_true_and_1_are_true(left: str, right: str, equal: bool) -> None:
    assert _holds("bool", left, "eq", right) is equal
    assert _holds("bool", left, "ne", right) is not equal


@pytest.mark.parametrize("operator", ["gt", "gte", "lt", "lte", "is_empty"])
def test_bool_trait__ordering_or_is_empty__never_matches(operator: str) -> None:
    assert not _holds("bool", "true", operator, "false")


def test_bool_trait__not_empty__always_matches_even_missing() -> None:
    assert _holds("bool", None, "not_empty", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        ("2024-01-01T01:00:00+01:00", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        ("2024-01-01t00:00:00z", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00.5Z", dt.datetime(2024, 1, 1, 0, 0, 0, 500_000, tzinfo=dt.UTC)),
        ("2024-01-01T01:00:00+0100", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        ("2024-01-01T00:00:00+24:00", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),  # a day or more: offset ignored
        ("2024-01-01 00:00:00", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        ("2024-01-01 00:00:00+01:00", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),  # trailing token ignored
        ("2024-01-01 00:00:01.999", dt.datetime(2024, 1, 1, 0, 0, 1, tzinfo=dt.UTC)),
        ("Mon Jan 01 2024 00:00:00 GMT-0500", dt.datetime(2024, 1, 1, 5, tzinfo=dt.UTC)),
        ("Mon Jan 01 2024 00:00:00 EST", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        ("mon jan 1 2024 00:00:00", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    ],
)
def test_date_reading__accepted_forms__instant(text: str, expected: dt.datetime) -> None:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    assert parse_date_ns(text) == (expected - epoch) // dt.timedelta(microseconds=1) * 1000


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01",
        "Mon Jan 01 2024",
        "1704067200",
        "garbage",
        "",
        " 2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00Z",
        "Tue Jan 01 2024 00:00:00 GMT+0000",
        "Mon Jan 01 2024 00:00:00 GMT+0000 (Coordinated Universal Time)",
        "Mon, 01 Jan 2024 00:00:00 GMT",
        "2023-02-29T00:00:00Z",
        "2024-01-01T00:00:00+01",
        "2024-01-01T00:00:00.5+0100",
    ],
)
def test_date_reading__other_forms__unreadable(text: str) -> None:
    assert parse_date_ns(text) is None


def test_date_trait__unreadable__sorts_first_and_is_empty() -> None:
    assert _holds(
        "date", "2025-03-04T05:06:07Z", "gt", "2024-01-01"
    )  # VERIFIED E-date-trait: the right side is unreadable
    assert _holds("date", "garbage", "eq", "2024-01-01")
    assert _holds("date", "1960-01-01T00:00:00Z", "gt", "garbage")
    assert _holds("date", "2024-01-01", "is_empty", "")
    assert _holds("date", "2024-01-01T00:00:00Z", "not_empty", "")


def test_trait_condition__comparable_type__found_traits_own_type_wins() -> None:
    # the condition says string, the company's trait is an int: compared as ints
    document = trait_condition("lt", "10", "string")

    assert standard_rule_matches(document, company=company(traits=[trait("td_1", "9", "int")]))
    assert not standard_rule_matches(
        trait_condition("lt", "10", "int"), company=company(traits=[trait("td_1", "9", "string")])
    )


def test_trait_condition__comparison_trait__same_entity_missing_reads_empty() -> None:
    seats = trait_condition("lte", "", comparison_trait_definition=definition("td_max"))

    assert not standard_rule_matches(seats, company=company(traits=[trait("td_1", "5"), trait("td_max", "4")]))
    assert standard_rule_matches(seats, company=company(traits=[trait("td_1", "3"), trait("td_max", "4")]))
    assert not standard_rule_matches(seats, company=company(traits=[trait("td_1", "5")]))  # 5 <= 0


def test_user_trait_condition__user_traits__matched_by_definition_id() -> None:
    role = trait_condition("eq", "admin", "string", "user")

    assert standard_rule_matches(role, user_document=user(traits=[trait("td_1", "admin", "string", "user")]))
    assert not standard_rule_matches(role)  # no user


def test_trait_condition__no_definition__false() -> None:
    document = trait_condition("is_empty", "")
    document["trait_definition"] = None

    assert not standard_rule_matches(document)


def test_trait_condition__duplicate_traits__first_wins() -> None:
    document = trait_condition("eq", "a", "string")

    assert standard_rule_matches(
        document, company=company(traits=[trait("td_1", "a", "string"), trait("td_1", "b", "string")])
    )


@pytest.mark.parametrize(
    ("text", "number", "integer"),
    [
        ("5", 5, 5),
        ("-0", 0, 0),
        ("5.", 5.0, None),
        (".5", 0.5, None),
        ("1E3", 1000.0, None),
        ("1_000", 0, None),
        ("5 ", 0, None),
        ("nan", 0, None),
        ("9223372036854775808", 9.223372036854776e18, None),
    ],
)
def test_number_reading__forms__int_float_or_zero(text: str, number: float, integer: int | None) -> None:
    assert parse_number(text) == number
    assert type(parse_number(text)) is type(number)
    assert parse_int(text) == integer
