"""``seed_demo``: the demo catalog and customers, idempotency, and the admin login it prints."""

from __future__ import annotations

import io
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from catalog.models import Entitlement, Feature, Plan, PlanType, Price
from entitlements.models import Company, CompanyKey, Subscription, SubscriptionStatus
from entitlements.selectors import company_list

COUNTED = (Feature, Plan, Entitlement, Price, Company, CompanyKey, Subscription)


@pytest.fixture(autouse=True)
def _demo_env(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The password file goes to a temporary BASE_DIR; no demo variables leak in from the environment."""
    settings.BASE_DIR = tmp_path
    monkeypatch.delenv("DEMO_ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    return tmp_path


def _seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _printed_password(output: str) -> str:
    match = re.search(r"^\s*Password: (\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def _live(external_id: str) -> Subscription:
    company = company_list(key_name="external_id", key_value=external_id).get()
    return Subscription.objects.exclude(status=SubscriptionStatus.CANCELED).get(company=company)


@pytest.mark.django_db
def test_seed_demo__run_twice__no_duplicates() -> None:
    _seed()
    first = _counts()
    second_output = _seed()

    assert _counts() == first
    assert first == {
        "Feature": 8, "Plan": 4, "Entitlement": 19, "Price": 5,
        "Company": 6, "CompanyKey": 10, "Subscription": 7,
    }  # fmt: skip
    assert "already present" in second_output
    assert "created (" not in second_output


@pytest.mark.django_db
def test_seed_demo__catalog__free_is_the_one_initial_and_fallback_plan() -> None:
    _seed()

    assert list(Plan.objects.filter(is_initial=True).values_list("key", flat=True)) == ["free"]
    assert list(Plan.objects.filter(is_fallback=True).values_list("key", flat=True)) == ["free"]
    assert Plan.objects.get(key="pro").trial_days == 14
    assert Plan.objects.get(key="extra-generations").plan_type == PlanType.ADD_ON
    pro_generations = Entitlement.objects.get(plan__key="pro", feature__key="ai-generations")
    assert (pro_generations.allocation, pro_generations.soft_limit) == (1000, 800)
    assert pro_generations.month_reset == "billing_cycle"
    enterprise_seats = Entitlement.objects.get(plan__key="enterprise", feature__key="seats")
    assert (enterprise_seats.value_type, enterprise_seats.trait_key) == ("trait", "seat_limit")


@pytest.mark.django_db
def test_seed_demo__companies__cover_the_subscription_states() -> None:
    _seed()

    trialing = _live("initech")
    assert (trialing.plan.key, trialing.status) == ("pro", SubscriptionStatus.TRIALING)
    assert trialing.trial_ends_at is not None
    assert trialing.trial_ends_at > trialing.created_at
    hooli = _live("hooli")
    assert hooli.plan.key == "pro"
    assert [plan.key for plan in hooli.add_ons.all()] == ["extra-generations"]
    assert _live("umbrella").plan.key == "free"
    assert _live("acme").plan.key == "enterprise"
    assert _live("globex").status == SubscriptionStatus.ACTIVE
    vandelay = _live("vandelay")
    assert (vandelay.plan.key, vandelay.status) == ("free", SubscriptionStatus.ACTIVE)
    assert Subscription.objects.filter(company=vandelay.company, status=SubscriptionStatus.CANCELED).count() == 1
    assert company_list(key_name="stripe_customer_id", key_value="cus_demo_acme").exists()


@pytest.mark.django_db
def test_seed_demo__admin__logs_in_with_printed_password(tmp_path: Path) -> None:
    output = _seed()
    password = _printed_password(output)

    assert "http://127.0.0.1:8000/admin/" in output
    assert "http://127.0.0.1:8000/api/docs/" in output
    assert "Username: admin" in output
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser
    assert user.is_staff
    assert Client().login(username="admin", password=password)
    password_file = tmp_path / ".demo_admin_password"
    assert password_file.read_text().strip() == password
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600


@pytest.mark.django_db
def test_seed_demo__second_run__prints_same_password() -> None:
    first = _printed_password(_seed())
    second = _printed_password(_seed())

    assert second == first
    assert Client().login(username="admin", password=second)


@pytest.mark.django_db
def test_seed_demo__user_exists_without_password_file__password_reset_and_saved(tmp_path: Path) -> None:
    get_user_model().objects.create_superuser(username="admin", email="", password="forgotten-long-ago")

    password = _printed_password(_seed())

    assert password != "forgotten-long-ago"
    assert (tmp_path / ".demo_admin_password").read_text().strip() == password
    assert Client().login(username="admin", password=password)


@pytest.mark.django_db
def test_seed_demo__env_password_and_username__honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEMO_ADMIN_USERNAME", "ops")
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "correct-horse-battery")

    output = _seed()

    assert _printed_password(output) == "correct-horse-battery"
    assert Client().login(username="ops", password="correct-horse-battery")
    assert not (tmp_path / ".demo_admin_password").exists()


@pytest.mark.django_db
def test_seed_demo__no_admin__creates_no_user(tmp_path: Path) -> None:
    output = _seed("--no-admin")

    assert not get_user_model().objects.exists()
    assert "Password:" not in output
    assert not (tmp_path / ".demo_admin_password").exists()
    assert Company.objects.count() == 6


@pytest.mark.django_db
def test_seed_demo__credits__pro_and_enterprise_companies_hold_their_monthly_credits_once() -> None:
    from credits.models import CreditGrant

    _seed()
    _seed()
    # Pro active, Pro trialing, Pro with the add-on, and Enterprise: one plan grant each for this period
    assert sorted(CreditGrant.objects.filter(reason="plan").values_list("quantity", flat=True)) == [
        500, 500, 500, 5000
    ]  # fmt: skip
