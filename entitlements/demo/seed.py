"""A believable demo catalog and customer base for an AI writing product, plus a login for the admin.

Everything is written through the services, as the ``seed_demo`` system actor, so the demo data obeys the
same rules as data entered by people. Seeding is idempotent: each object is looked up by its key first and
skipped if present, so running it again changes nothing (existing objects are never updated, even when they
differ).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.models import Entitlement, Feature, Plan, Price
from catalog.services import entitlement_create, feature_create, plan_create, price_create
from entitlements.demo.credits import demo_credits_seed
from entitlements.demo.summary import CURRENCY, DEMO_ACTOR, DemoSummary
from entitlements.models import Company, OverrideReason, SubscriptionStatus, UserKey
from entitlements.selectors import company_list
from entitlements.services.companies import company_create
from entitlements.services.overrides import override_grant
from entitlements.services.plan_credits import plan_credits_grant_due
from entitlements.services.subscriptions import subscription_put
from entitlements.services.users import user_create

PASSWORD_FILE_NAME = ".demo_admin_password"

# --- The demo data ------------------------------------------------------------------------------------------

_FEATURES: tuple[dict[str, Any], ...] = (
    {
        "key": "brand-voice",
        "name": "Brand voice",
        "feature_type": "boolean",
        "description": "Train the writer on the customer's own tone of voice.",
    },
    {"key": "sso", "name": "Single sign-on", "feature_type": "boolean", "description": "SAML / OIDC login."},
    {
        "key": "priority-support",
        "name": "Priority support",
        "feature_type": "boolean",
        "description": "Answers within four business hours.",
    },
    {
        "key": "ai-generations",
        "name": "AI generations",
        "feature_type": "event",
        "event_name": "generation",
        "unit_singular": "generation",
        "unit_plural": "generations",
        "description": "Drafts and rewrites per month.",
    },
    {
        "key": "image-exports",
        "name": "Image exports",
        "feature_type": "event",
        "event_name": "image-export",
        "unit_singular": "export",
        "unit_plural": "exports",
        "description": "Social images exported per day.",
    },
    {
        "key": "documents",
        "name": "Documents",
        "feature_type": "event",
        "event_name": "document-created",
        "unit_singular": "document",
        "unit_plural": "documents",
        "description": "Documents created, ever.",
    },
    {
        "key": "seats",
        "name": "Seats",
        "feature_type": "trait",
        "trait_key": "seats_used",
        "unit_singular": "seat",
        "unit_plural": "seats",
        "description": "Team members with a login.",
    },
)

_PLANS: tuple[dict[str, Any], ...] = (
    {
        "key": "free",
        "name": "Free",
        "trial_days": 0,
        "is_initial": True,
        "is_fallback": True,
        "description": "For trying the writer out.",
    },
    {"key": "pro", "name": "Pro", "trial_days": 14, "description": "For professional writers and teams."},
    {"key": "enterprise", "name": "Enterprise", "description": "For companies with many writers and IT."},
    {
        "key": "extra-generations",
        "name": "Extra generations",
        "plan_type": "add_on",
        "description": "5,000 more AI generations every month.",
    },
)


def _numeric(allocation: int, period: str | None = None, **extra: Any) -> dict[str, Any]:
    """A numeric entitlement's fields (``period`` is omitted for trait features, which have none)."""
    fields: dict[str, Any] = {"value_type": "numeric", "allocation": allocation, **extra}
    if period is not None:
        fields["metric_period"] = period
    return fields


_ON: dict[str, Any] = {"value_type": "boolean"}
_UNLIMITED: dict[str, Any] = {"value_type": "unlimited"}
_MONTH, _DAY, _EVER = "current_month", "current_day", "all_time"

# (plan key, feature key, entitlement fields)
_ENTITLEMENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("free", "ai-generations", _numeric(50, _MONTH)),
    ("free", "documents", _numeric(10, _EVER)),
    ("free", "seats", _numeric(1)),
    ("free", "image-exports", _numeric(5, _DAY)),
    ("pro", "ai-generations", _numeric(1000, _MONTH, soft_limit=800, month_reset="billing_cycle")),
    ("pro", "brand-voice", _ON),
    ("pro", "documents", _UNLIMITED),
    ("pro", "seats", _numeric(5)),
    ("pro", "image-exports", _numeric(100, _DAY)),
    ("enterprise", "ai-generations", _UNLIMITED),
    ("enterprise", "brand-voice", _ON),
    ("enterprise", "sso", _ON),
    ("enterprise", "priority-support", _ON),
    ("enterprise", "documents", _UNLIMITED),
    ("enterprise", "seats", {"value_type": "trait", "trait_key": "seat_limit"}),
    ("enterprise", "image-exports", _UNLIMITED),
    ("extra-generations", "ai-generations", _numeric(5000, _MONTH)),
)

# (plan key, interval, amount in cents)
_PRICES: tuple[tuple[str, str, int], ...] = (
    ("free", "month", 0),
    ("pro", "month", 2900),
    ("pro", "year", 29000),
    ("enterprise", "month", 49900),
    ("extra-generations", "month", 1900),
)


@dataclass(frozen=True, slots=True)
class _CompanySeed:
    """One demo customer: who it is, and where its subscription stands (``plan=None``: the initial)."""

    external_id: str
    name: str
    traits: Mapping[str, Any]
    user: tuple[str, str]  # (name, email) of one person at the company
    stripe_customer_id: str = ""
    plan: str | None = None
    status: str = SubscriptionStatus.ACTIVE
    add_ons: tuple[str, ...] = ()
    period_started_days_ago: int = 0


_COMPANIES: tuple[_CompanySeed, ...] = (
    _CompanySeed(
        "acme",
        "Acme Corporation",
        {"seats_used": 42, "seat_limit": 250, "region": "us-east", "beta": True},
        ("Wile E. Coyote", "wile@acme.example"),
        "cus_demo_acme",
        plan="enterprise",
        period_started_days_ago=12,
    ),
    _CompanySeed(
        "globex",
        "Globex",
        {"seats_used": 4, "region": "eu-west", "beta": False},
        ("Hank Scorpio", "hank@globex.example"),
        "cus_demo_globex",
        plan="pro",
        period_started_days_ago=20,
    ),
    _CompanySeed(
        "initech",
        "Initech",
        {"seats_used": 2, "region": "us-west", "beta": False},
        ("Peter Gibbons", "peter@initech.example"),
        plan="pro",
        status=SubscriptionStatus.TRIALING,
        period_started_days_ago=7,
    ),
    _CompanySeed(
        "umbrella",
        "Umbrella Labs",
        {"seats_used": 1, "region": "ap-southeast", "beta": True},
        ("Alice Abernathy", "alice@umbrella.example"),
    ),
    _CompanySeed(
        "hooli",
        "Hooli",
        {"seats_used": 5, "region": "us-west", "beta": True},
        ("Gavin Belson", "gavin@hooli.example"),
        "cus_demo_hooli",
        plan="pro",
        add_ons=("extra-generations",),
        period_started_days_ago=3,
    ),
    _CompanySeed(
        "vandelay",
        "Vandelay Industries",
        {"seats_used": 1, "region": "us-east", "beta": False},
        ("Art Vandelay", "art@vandelay.example"),
        "cus_demo_vandelay",
        plan="pro",
        status=SubscriptionStatus.CANCELED,
        period_started_days_ago=25,
    ),
)

TRIAL_DAYS_LEFT = 7


@dataclass(frozen=True, slots=True)
class _OverrideSeed:
    """An exception an account executive granted a demo customer (``expires_in_days=None``: no expiry)."""

    external_id: str
    feature: str
    fields: Mapping[str, Any]
    note: str
    reason: str
    expires_in_days: int | None = None


_OVERRIDES: tuple[_OverrideSeed, ...] = (
    _OverrideSeed(
        "globex",
        "brand-voice",
        {"value_type": "boolean", "value": False},
        "Paused at the customer's request while they rebrand.",
        OverrideReason.SUPPORT_GOODWILL,
    ),
    _OverrideSeed(
        "hooli",
        "image-exports",
        _numeric(500, _DAY),
        "Launch week: five times the daily exports, agreed with their CTO.",
        OverrideReason.SALES_DEAL,
        expires_in_days=30,
    ),
    _OverrideSeed(
        "umbrella",
        "brand-voice",
        {"value_type": "boolean", "value": True},
        "Pilot of brand voice before they decide on Pro.",
        OverrideReason.TRIAL,
        expires_in_days=14,
    ),
)

# --- Seeding ------------------------------------------------------------------------------------------------


def _features(summary: DemoSummary) -> dict[str, Feature]:
    features = {}
    for fields in _FEATURES:
        feature = Feature.objects.filter(key__iexact=fields["key"]).first()
        summary.record("Features", fields["key"], created=feature is None)
        features[fields["key"]] = feature or feature_create(actor=DEMO_ACTOR, **fields)
    return features


def _plans(summary: DemoSummary) -> dict[str, Plan]:
    plans = {}
    for fields in _PLANS:
        plan = Plan.objects.filter(key__iexact=fields["key"]).first()
        summary.record("Plans", fields["key"], created=plan is None)
        plans[fields["key"]] = plan or plan_create(actor=DEMO_ACTOR, **fields)
    return plans


def _entitlements(summary: DemoSummary, plans: Mapping[str, Plan], features: Mapping[str, Feature]) -> None:
    for plan_key, feature_key, fields in _ENTITLEMENTS:
        plan, feature = plans[plan_key], features[feature_key]
        exists = Entitlement.objects.filter(plan=plan, feature=feature).exists()
        summary.record("Entitlements", f"{plan_key}/{feature_key}", created=not exists)
        if not exists:
            entitlement_create(actor=DEMO_ACTOR, plan=plan, feature=feature, **fields)


def _prices(summary: DemoSummary, plans: Mapping[str, Plan]) -> None:
    for plan_key, interval, amount in _PRICES:
        plan = plans[plan_key]
        exists = Price.objects.filter(plan=plan, interval=interval, currency=CURRENCY).exists()
        summary.record("Prices", f"{plan_key}/{interval}", created=not exists)
        if not exists:
            price_create(actor=DEMO_ACTOR, plan=plan, interval=interval, currency=CURRENCY, amount_minor=amount)


def _company_seed(seed: _CompanySeed, plans: Mapping[str, Plan], now: dt.datetime) -> Company:
    """Create one demo company on the initial plan, then move its subscription where the seed says."""
    keys = {"external_id": seed.external_id}
    if seed.stripe_customer_id:
        keys["stripe_customer_id"] = seed.stripe_customer_id
    company = company_create(actor=DEMO_ACTOR, name=seed.name, keys=keys, traits=seed.traits, now=now)
    user_name, email = seed.user
    if not UserKey.objects.filter(name="email", value__iexact=email).exists():
        user_create(actor=DEMO_ACTOR, name=user_name, keys={"email": email}, companies=[company])
    if seed.plan is None:
        return company
    period_start = now - dt.timedelta(days=seed.period_started_days_ago)
    trialing = seed.status == SubscriptionStatus.TRIALING
    trial_ends_at = now + dt.timedelta(days=TRIAL_DAYS_LEFT) if trialing else None
    subscription_put(
        actor=DEMO_ACTOR,
        company=company,
        plan=plans[seed.plan],
        add_ons=[plans[key] for key in seed.add_ons],
        status=seed.status,
        trial_ends_at=trial_ends_at,
        current_period_start=period_start,
        current_period_end=trial_ends_at,  # a trial's period ends with the trial; others last a month
        now=now,
    )  # a ``canceled`` status ends this subscription and starts one on the fallback plan
    return company


def _overrides_seed(company: Company, external_id: str, features: Mapping[str, Feature], now: dt.datetime) -> None:
    for seed in _OVERRIDES:
        if seed.external_id != external_id:
            continue
        expires_at = now + dt.timedelta(days=seed.expires_in_days) if seed.expires_in_days is not None else None
        override_grant(
            actor=DEMO_ACTOR,
            company=company,
            feature=features[seed.feature],
            note=seed.note,
            reason=seed.reason,
            expires_at=expires_at,
            now=now,
            **seed.fields,
        )


def _companies(
    summary: DemoSummary, plans: Mapping[str, Plan], features: Mapping[str, Feature], now: dt.datetime
) -> None:
    for seed in _COMPANIES:
        exists = company_list(key_name="external_id", key_value=seed.external_id).exists()
        summary.record("Companies", seed.external_id, created=not exists)
        if not exists:
            company = _company_seed(seed, plans, now)
            _overrides_seed(company, seed.external_id, features, now)  # with the company: a rerun adds none


def demo_seed(*, now: dt.datetime) -> DemoSummary:
    """Create the demo catalog (features, plans, entitlements, prices) and six customers; skip what exists.

    One transaction: a refusal by a service (``DomainError``) leaves the database as it was. The customers
    cover the interesting states: Free through the initial plan, Pro active, Pro trialing (ends in a week),
    Enterprise with a trait-based seat limit, Pro with the ``extra-generations`` add-on, and a canceled Pro
    that fell back to Free; three of them hold overrides (a plan feature switched off, a raised limit that expires,
    a feature piloted on Free).
    """
    summary = DemoSummary()
    with transaction.atomic():
        features = _features(summary)
        plans = _plans(summary)
        _entitlements(summary, plans, features)
        _prices(summary, plans)
        demo_credits_seed(summary, plans)
        _companies(summary, plans, features, now)
        plan_credits_grant_due(actor=DEMO_ACTOR, now=now)  # this period's included credits (once per period)
    return summary


# --- The admin login ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdminCredentials:
    """The demo admin's login and what this run did to it."""

    username: str
    password: str
    source: str  # "env", "file" or "generated"
    user_created: bool
    password_changed: bool


def _password_file_write(path: Path, password: str) -> None:
    """Write the password readable by the owner only (0600), replacing the file if it exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed


def demo_admin_ensure(*, username: str, env_password: str | None, password_file: Path) -> AdminCredentials:
    """Make sure a superuser ``username`` exists and return a password that logs it in.

    The password is ``env_password`` when given (set on the user if it does not match already). Otherwise it
    is read from ``password_file``; if that file is missing, a new one is generated, written there (mode
    0600) and set on the user. A user that exists alongside an existing file is left as it is.
    """
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    stored = password_file.read_text(encoding="utf-8").strip() if password_file.is_file() else ""
    if env_password:
        password, source = env_password, "env"
        set_password = user is None or not user.check_password(password)
    elif stored:
        password, source = stored, "file"
        set_password = user is None
    else:
        password, source = secrets.token_urlsafe(12), "generated"
        _password_file_write(password_file, password)
        set_password = True
    with transaction.atomic():
        created = user is None
        if user is None:
            user = user_model.objects.create_superuser(username=username, email="", password=password)
        elif set_password or not (user.is_staff and user.is_superuser and user.is_active):
            if set_password:
                user.set_password(password)
            user.is_staff = user.is_superuser = user.is_active = True
            user.save()
    return AdminCredentials(
        username=username,
        password=password,
        source=source,
        user_created=created,
        password_changed=set_password,
    )
