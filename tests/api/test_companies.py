"""Management API: companies with their keys and traits (``/api/v1/companies``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from entitlements.models import Company, CompanyKey, CompanyTrait, TraitDefinition
from tests.api.support import API, company_make, ok, plan_make, refused, send_json

COMPANIES = f"{API}/companies"


def _nothing_written() -> None:
    assert not Company.objects.exists()
    assert not CompanyKey.objects.exists()
    assert not CompanyTrait.objects.exists()


def test_company__full_lifecycle__create_read_update_delete(api: APIClient) -> None:
    # Given a company with two keys and two traits
    created = company_make(
        api, "Acme", keys={"external_id": "acme-1", "stripe_customer_id": "cus_1"}, traits={"seats": 5, "tier": "gold"}
    )
    assert created["id"].startswith("comp_")
    assert created["keys"] == {"external_id": "acme-1", "stripe_customer_id": "cus_1"}
    assert created["traits"] == {"seats": 5, "tier": "gold"}
    assert ok(api.get(f"{COMPANIES}/{created['id']}")) == created

    # When renamed and merge-patched (one key changed, one removed, one added; one trait removed, one added)
    patched = ok(
        api.patch(
            f"{COMPANIES}/{created['id']}",
            {
                "name": "Acme Inc.",
                "keys": {"external_id": "acme-2", "stripe_customer_id": None, "crm_id": "crm-9"},
                "traits": {"tier": None, "beta": True},
            },
        )
    )

    # Then the untouched key and trait stay and the rest follow the patch
    assert patched["name"] == "Acme Inc."
    assert patched["keys"] == {"external_id": "acme-2", "crm_id": "crm-9"}
    assert patched["traits"] == {"seats": 5, "beta": True}
    assert ok(api.get(f"{COMPANIES}/{created['id']}")) == patched

    # When deleted, Then every door answers 404 and its rows are gone
    assert api.delete(f"{COMPANIES}/{created['id']}").status_code == 204
    refused(api.get(f"{COMPANIES}/{created['id']}"), 404)
    refused(api.patch(f"{COMPANIES}/{created['id']}", {"name": "Back"}), 404)
    refused(api.delete(f"{COMPANIES}/{created['id']}"), 404)
    refused(api.get(f"{COMPANIES}/{created['id']}/subscription"), 404)
    _nothing_written()


def test_company_lookup__by_key_in_any_case__finds_the_company(api: APIClient) -> None:
    acme = company_make(api, "Acme", keys={"external_id": "acme-1"})
    company_make(api, "Globex", keys={"external_id": "globex-1"})

    found = ok(api.get(COMPANIES, {"key_name": "EXTERNAL_ID", "key_value": "ACME-1"}))

    assert found["count"] == 1
    assert [item["id"] for item in found["results"]] == [acme["id"]]


def test_company_lookup__no_holder__empty_page(api: APIClient) -> None:
    company_make(api, "Acme", keys={"external_id": "acme-1"})

    found = ok(api.get(COMPANIES, {"key_name": "external_id", "key_value": "nobody"}))

    assert (found["count"], found["results"]) == (0, [])


@pytest.mark.parametrize(
    ("params", "field"), [({"key_name": "external_id"}, "key_value"), ({"key_value": "a"}, "key_name")]
)
def test_company_lookup__half_a_key__400_naming_the_missing_half(
    api: APIClient, params: dict[str, str], field: str
) -> None:
    refused(api.get(COMPANIES, params), 400, field)


@pytest.mark.parametrize("value", ["\x00", "a\x00b"])
def test_company_lookup__nul_character__empty_page_not_500(api: APIClient, value: str) -> None:
    company_make(api, "Acme", keys={"external_id": "acme-1"})

    assert ok(api.get(COMPANIES, {"key_name": value, "key_value": value}))["count"] == 0


def test_company_list__more_than_a_page__paginated_by_name(api: APIClient) -> None:
    for name in ("Cyberdyne", "Acme", "Initech"):
        company_make(api, name)

    first = ok(api.get(COMPANIES, {"page_size": 2}))

    assert first["count"] == 3
    assert first["next"]
    assert [item["name"] for item in first["results"]] == ["Acme", "Cyberdyne"]
    assert [item["name"] for item in ok(api.get(first["next"]))["results"]] == ["Initech"]


def test_company_list__more_companies__same_number_of_queries(api: APIClient) -> None:
    # Given companies with keys, traits and a subscription holding an add-on
    plan_make(api, "free")
    plan_make(api, "boost", plan_type="add_on")

    def add_companies(count: int) -> None:
        for _ in range(count):
            company = company_make(api, keys={"external_id": f"c-{Company.objects.count()}"}, traits={"seats": 3})
            ok(api.put(f"{COMPANIES}/{company['id']}/subscription", {"plan": "free", "add_ons": ["boost"]}))

    def list_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            ok(api.get(COMPANIES))
        return len(queries)

    add_companies(2)
    with_two = list_queries()

    # When there are three times as many, Then listing them takes no more queries
    add_companies(4)
    assert list_queries() == with_two


# --- Landing on the initial plan --------------------------------------------------------------------------------


def test_company_create__catalog_without_plans__no_subscription(api: APIClient) -> None:
    created = company_make(api)

    assert created["subscription"] is None
    refused(api.get(f"{COMPANIES}/{created['id']}/subscription"), 404)


def test_company_create__initial_plan__active_subscription_on_it(api: APIClient) -> None:
    plan_make(api, "free")
    plan_make(api, "pro")

    subscription = company_make(api)["subscription"]

    assert (subscription["plan"], subscription["status"], subscription["trial_ends_at"]) == ("free", "active", None)
    assert subscription["add_ons"] == []


def test_company_create__initial_plan_has_trial__trialing_until_trial_end(api: APIClient) -> None:
    # Given an initial plan with a 14-day trial
    plan_make(api, "free")
    plan_make(api, "trial", trial_days=14, is_initial=True)

    # When a company is created
    before = dt.datetime.now(dt.UTC)
    subscription = company_make(api)["subscription"]
    after = dt.datetime.now(dt.UTC)

    # Then it trials the initial plan for 14 days
    assert (subscription["plan"], subscription["status"]) == ("trial", "trialing")
    trial_ends_at = dt.datetime.fromisoformat(subscription["trial_ends_at"].replace("Z", "+00:00"))
    assert before + dt.timedelta(days=14) <= trial_ends_at <= after + dt.timedelta(days=14)


# --- Bad input on create ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": 123}, "name"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "n" * 256}, "name"),
        ({"name": "Acme", "colour": "red"}, "colour"),
        ({"name": "Acme", "keys": ["external_id"]}, "keys"),
        ({"name": "Acme", "keys": "acme-1"}, "keys"),
        ({"name": "Acme", "keys": {"external_id": 5}}, "keys.external_id"),
        ({"name": "Acme", "keys": {"external_id": None}}, "keys.external_id"),
        ({"name": "Acme", "keys": {"external_id": {"v": "a"}}}, "keys.external_id"),
        ({"name": "Acme", "keys": {"external_id": ["a"]}}, "keys.external_id"),
        ({"name": "Acme", "keys": {"external_id": True}}, "keys.external_id"),
        ({"name": "Acme", "keys": {"external_id": " "}}, "keys.external_id"),
        ({"name": "Acme", "keys": {"external_id": "v" * 256}}, "keys.external_id"),
        ({"name": "Acme", "keys": {"external_id": "a\x00b"}}, "keys.external_id"),
        ({"name": "Acme", "keys": {"": "a"}}, "keys"),
        ({"name": "Acme", "keys": {"k" * 101: "a"}}, "keys"),
        ({"name": "Acme", "keys": {"ext\x00id": "a"}}, "keys"),
        ({"name": "Acme", "keys": {"id": "a", "ID": "b"}}, "keys.id"),
        ({"name": "Acme", "keys": {"id": "a", " id ": "b"}}, "keys.id"),
        ({"name": "Acme", "traits": ["seats"]}, "traits"),
        ({"name": "Acme", "traits": {"seats": [1]}}, "traits.seats"),
        ({"name": "Acme", "traits": {"seats": {"n": 1}}}, "traits.seats"),
        ({"name": "Acme", "traits": {"notes": "a\x00b"}}, "traits.notes"),
        ({"name": "Acme", "traits": {"notes": "n" * 1001}}, "traits.notes"),
        ({"name": "Acme", "traits": {"t" * 101: 1}}, "traits"),
        ({"name": "Acme", "traits": {"se\x00ats": 1}}, "traits"),
        ({"name": "Acme", "traits": {"": 1}}, "traits"),
    ],
)
def test_company_create__bad_input__400_naming_the_field_and_nothing_written(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    plan_make(api, "free")

    refused(api.post(COMPANIES, body), 400, field)

    _nothing_written()
    assert not TraitDefinition.objects.exists()


@pytest.mark.parametrize("body", [[{"name": "Acme"}], "Acme", None, 7])
def test_company_create__body_not_an_object__400_and_nothing_written(api: APIClient, body: Any) -> None:
    refused(send_json(api, "POST", COMPANIES, body), 400)

    _nothing_written()


@pytest.mark.parametrize(
    "keys",
    [{"external_id": "acme-1"}, {"external_id": "ACME-1"}, {"External_ID": "Acme-1"}, {"external_id": " acme-1 "}],
)
def test_company_create__key_of_another_company__400_on_that_key_and_nothing_written(
    api: APIClient, keys: dict[str, str]
) -> None:
    # Given a company holding external_id=acme-1
    acme = company_make(api, "Acme", keys={"external_id": "acme-1"})

    # When another company claims the same key, in any case
    body = refused(api.post(COMPANIES, {"name": "Copycat", "keys": keys}), 400, f"keys.{next(iter(keys))}")

    # Then it is refused, naming the holder, and only the first company exists
    assert body["code"] == "duplicate_key"
    assert acme["id"] in str(body["fields"])
    assert list(Company.objects.values_list("public_id", flat=True)) == [acme["id"]]


def test_company_create__one_good_and_one_duplicate_key__nothing_written(api: APIClient) -> None:
    plan_make(api, "free")
    acme = company_make(api, "Acme", keys={"external_id": "acme-1"})

    refused(
        api.post(COMPANIES, {"name": "Copycat", "keys": {"crm_id": "crm-1", "external_id": "acme-1"}}),
        400,
        "keys.external_id",
    )

    assert list(Company.objects.values_list("public_id", flat=True)) == [acme["id"]]
    assert list(CompanyKey.objects.values_list("value", flat=True)) == ["acme-1"]
    assert ok(api.get(COMPANIES, {"key_name": "crm_id", "key_value": "crm-1"}))["count"] == 0


def test_company_create__good_keys_but_bad_trait__nothing_written(api: APIClient) -> None:
    # Given "seats" is known as an integer trait
    plan_make(api, "free")
    acme = company_make(api, "Acme", traits={"seats": 5})

    # When a new company has good keys, a new trait, and a seats value that is not an integer
    refused(
        api.post(
            COMPANIES, {"name": "Globex", "keys": {"external_id": "g-1"}, "traits": {"plan_tier": "x", "seats": "many"}}
        ),
        400,
        "traits.seats",
    )

    # Then no company, key, subscription or trait definition was left behind
    assert list(Company.objects.values_list("public_id", flat=True)) == [acme["id"]]
    assert not CompanyKey.objects.exists()
    assert list(TraitDefinition.objects.values_list("key", flat=True)) == ["seats"]


@pytest.mark.parametrize(
    ("first", "second"),
    [({"seats": 5}, {"seats": "many"}), ({"seats": 5}, {"seats": True}), ({"beta": True}, {"beta": "maybe"})],
)
def test_company_create__trait_of_wrong_type_for_definition__400_on_that_trait(
    api: APIClient, first: dict[str, Any], second: dict[str, Any]
) -> None:
    company_make(api, "Acme", traits=first)

    refused(api.post(COMPANIES, {"name": "Globex", "traits": second}), 400, f"traits.{next(iter(second))}")

    assert Company.objects.count() == 1


def test_company_create__integer_trait_sent_as_numeric_string__stored_as_integer(api: APIClient) -> None:
    company_make(api, "Acme", traits={"seats": 5})

    assert company_make(api, "Globex", traits={"seats": "7"})["traits"] == {"seats": 7}


# --- PATCH --------------------------------------------------------------------------------------------------------


@pytest.fixture
def acme(api: APIClient) -> dict[str, Any]:
    """Company Acme with external_id=acme-1 and an integer trait seats=5; Globex holds external_id=globex-1."""
    company_make(api, "Globex", keys={"external_id": "globex-1"})
    return company_make(api, "Acme", keys={"external_id": "acme-1"}, traits={"seats": 5})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"name": 5}, "name"),
        ({"name": "Renamed", "keys": {"external_id": "globex-1"}}, "keys.external_id"),
        ({"name": "Renamed", "keys": {"external_id": "GLOBEX-1"}}, "keys.external_id"),
        ({"name": "Renamed", "keys": {"crm": 9}}, "keys.crm"),
        ({"name": "Renamed", "keys": {"crm": {}}}, "keys.crm"),
        ({"name": "Renamed", "keys": {"crm": "c-1", "external_id": "globex-1"}}, "keys.external_id"),
        ({"name": "Renamed", "traits": {"seats": "many"}}, "traits.seats"),
        ({"name": "Renamed", "traits": {"new_trait": 1, "seats": "many"}}, "traits.seats"),
        ({"name": "Renamed", "keys": None}, "keys"),
        ({"name": "Renamed", "traits": []}, "traits"),
        ({"id": "comp_x"}, "id"),
        ({"subscription": None}, "subscription"),
    ],
)
def test_company_update__bad_input__400_naming_the_field_and_company_unchanged(
    api: APIClient, acme: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    refused(api.patch(f"{COMPANIES}/{acme['id']}", body), 400, field)

    assert ok(api.get(f"{COMPANIES}/{acme['id']}")) == acme
    assert CompanyKey.objects.count() == 2
    assert not TraitDefinition.objects.filter(key="new_trait").exists()


@pytest.mark.parametrize("body", [[], [{"name": "x"}], "x", None])
def test_company_update__body_not_an_object__400_and_unchanged(api: APIClient, acme: dict[str, Any], body: Any) -> None:
    refused(send_json(api, "PATCH", f"{COMPANIES}/{acme['id']}", body), 400)

    assert ok(api.get(f"{COMPANIES}/{acme['id']}")) == acme


def test_company_update__empty_body__200_and_unchanged(api: APIClient, acme: dict[str, Any]) -> None:
    after = ok(api.patch(f"{COMPANIES}/{acme['id']}", {}))

    assert (after["name"], after["keys"], after["traits"]) == (acme["name"], acme["keys"], acme["traits"])


def test_company_update__no_body__200_and_unchanged(api: APIClient, acme: dict[str, Any]) -> None:
    after = ok(api.patch(f"{COMPANIES}/{acme['id']}"))

    assert (after["name"], after["keys"], after["traits"]) == (acme["name"], acme["keys"], acme["traits"])


def test_company_update__own_key_in_other_case__200_and_still_one_key(api: APIClient, acme: dict[str, Any]) -> None:
    patched = ok(api.patch(f"{COMPANIES}/{acme['id']}", {"keys": {"external_id": "ACME-1"}}))

    assert patched["keys"] == {"external_id": "ACME-1"}
    assert CompanyKey.objects.filter(company__public_id=acme["id"]).count() == 1


def test_company_update__remove_unknown_key_or_trait__200_and_no_change(api: APIClient, acme: dict[str, Any]) -> None:
    patched = ok(api.patch(f"{COMPANIES}/{acme['id']}", {"keys": {"crm": None}, "traits": {"unknown": None}}))

    assert (patched["keys"], patched["traits"]) == (acme["keys"], acme["traits"])


def test_company_delete__keys_free_again__new_company_can_take_them(api: APIClient, acme: dict[str, Any]) -> None:
    assert api.delete(f"{COMPANIES}/{acme['id']}").status_code == 204

    assert company_make(api, "Acme 2", keys={"external_id": "acme-1"})["keys"] == {"external_id": "acme-1"}


def test_company_delete__with_subscription__204_and_plan_stays(api: APIClient) -> None:
    plan_make(api, "free")
    company = company_make(api)

    assert api.delete(f"{COMPANIES}/{company['id']}").status_code == 204

    assert ok(api.get(f"{API}/plans/free"))["key"] == "free"
    assert api.delete(f"{API}/plans/free").status_code == 204


@pytest.mark.parametrize("public_id", ["comp_nope", "%00", "a%00b", "%20", "%E2%9C%93", "x" * 300])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_company_detail__unknown_or_odd_id__404_json(api: APIClient, method: str, public_id: str) -> None:
    company_make(api)

    refused(getattr(api, method)(f"{COMPANIES}/{public_id}"), 404)

    assert Company.objects.count() == 1


def test_company_detail__key_instead_of_id__404(api: APIClient, acme: dict[str, Any]) -> None:
    refused(api.get(f"{COMPANIES}/acme-1"), 404)
