"""Reads of companies, their keys, traits, subscriptions and overrides, and API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Lower, TruncDate

from catalog.models import Feature, MetricPeriod, MonthReset, Plan
from catalog.selectors import plan_fallback_get
from core.errors import NotFound
from core.persistence import text_storable
from entitlements.engine.periods import add_months, window_reset_at, window_start
from entitlements.models import (
    ApiKey,
    Company,
    CompanyKey,
    CompanyOverride,
    CompanyTrait,
    Subscription,
    SubscriptionStatus,
    UsageCounter,
    UsageEvent,
    UserKey,
)
from entitlements.models.overrides import OverrideState
from entitlements.rules.traits import trait_value_decode


def company_list(*, key_name: str | None = None, key_value: str | None = None) -> QuerySet[Company]:
    """Companies with keys, traits and live subscription prefetched; optionally those holding one key pair."""
    companies = Company.objects.order_by("name", "id").prefetch_related(
        "keys",
        Prefetch("traits", queryset=CompanyTrait.objects.select_related("definition")),
        Prefetch(
            "subscriptions",
            queryset=Subscription.objects.exclude(status=SubscriptionStatus.CANCELED)
            .select_related("plan")
            .prefetch_related("add_ons"),
            to_attr="live_subscriptions",
        ),
    )
    if key_name is not None and key_value is not None:
        if not (text_storable(key_name) and text_storable(key_value)):
            return companies.none()
        holders = CompanyKey.objects.annotate(name_lower=Lower("name"), value_lower=Lower("value")).filter(
            name_lower=key_name.lower(), value_lower=key_value.lower()
        )
        companies = companies.filter(pk__in=holders.values("company_id"))
    return companies


def company_public_ids_matching(term: str, *, limit: int = 200) -> list[str]:
    """The public ids of the companies whose name or a key value contains ``term`` (ignoring case)."""
    if not text_storable(term):
        return []
    matching = Company.objects.filter(Q(name__icontains=term) | Q(keys__value__icontains=term)).distinct()
    return list(matching.order_by("name").values_list("public_id", flat=True)[:limit])


def company_get(*, public_id: str) -> Company:
    """The company with this public id (keys, traits and live subscription prefetched); ``NotFound`` otherwise."""
    company = company_list().filter(public_id=public_id).first() if text_storable(public_id) else None
    if company is None:
        raise NotFound(f"No company with id '{public_id}'.", field="company")
    return company


def company_keys(company: Company) -> dict[str, str]:
    """The company's keys as a name → value map."""
    return {key.name: key.value for key in company.keys.all()}


def company_traits(company: Company) -> dict[str, Any]:
    """The company's traits as key → JSON value (ints and booleans decoded from their stored strings)."""
    return {
        trait.definition.key: trait_value_decode(trait.definition.trait_type, trait.value)
        for trait in company.traits.all()
    }


def subscription_live_get(*, company: Company) -> Subscription | None:
    """The company's live (not canceled) subscription, if any."""
    prefetched = getattr(company, "live_subscriptions", None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return (
        Subscription.objects.filter(company=company)
        .exclude(status=SubscriptionStatus.CANCELED)
        .select_related("plan")
        .prefetch_related("add_ons")
        .first()
    )


SOON = dt.timedelta(days=7)
"""What "soon" means to the back-office's queues and filters: within a week."""


def companies_trial_ending(*, now: dt.datetime, within: dt.timedelta = SOON) -> QuerySet[Company]:
    """Companies whose live subscription is a trial ending in ``[now, now + within)``."""
    ending = Subscription.objects.filter(
        status=SubscriptionStatus.TRIALING, trial_ends_at__gte=now, trial_ends_at__lt=now + within
    )
    return Company.objects.filter(pk__in=ending.values("company_id"))


def companies_override_expiring(*, now: dt.datetime, within: dt.timedelta = SOON) -> QuerySet[Company]:
    """Companies holding an override in force that expires in ``(now, now + within)``."""
    expiring = CompanyOverride.objects.filter(override_in_force_q(now), expires_at__lt=now + within)
    return Company.objects.filter(pk__in=expiring.values("company_id"))


def companies_renewing(*, now: dt.datetime, within: dt.timedelta = dt.timedelta(days=30)) -> QuerySet[Company]:
    """Companies whose live, paid-up (active) subscription's period ends in ``[now, now + within)``: their renewal."""
    renewing = Subscription.objects.filter(
        status=SubscriptionStatus.ACTIVE, current_period_end__gte=now, current_period_end__lt=now + within
    )
    return Company.objects.filter(pk__in=renewing.values("company_id"))


def companies_silent(*, now: dt.datetime, days: int = 14) -> QuerySet[Company]:
    """Companies that tracked usage before and none in the last ``days`` days: a churn risk."""
    since = now - dt.timedelta(days=days)
    usage = UsageEvent.objects.filter(company=OuterRef("pk"))
    return Company.objects.filter(Exists(usage)).exclude(Exists(usage.filter(occurred_at__gte=since)))


def subscription_is_paying(subscription: Subscription | None) -> bool:
    """Whether the subscription is a paying one: active (not trialing, past due or canceled) on a base plan with a
    price above zero."""
    if subscription is None or subscription.status != SubscriptionStatus.ACTIVE:
        return False
    return subscription.plan.prices.filter(amount_minor__gt=0).exists()


def trial_landing(*, company: Company, plan: Plan) -> str:
    """Where the company lands when a trial of ``plan`` ends, as the trial job decides it (in words)."""
    if company.has_payment_method:
        return f"converts to paid on {plan.name} (a payment method is on file)"
    fallback = plan_fallback_get()
    if fallback is None:
        return "ends with no plan (no payment method on file, and the catalog has no fallback plan)"
    return f"moves to {fallback.name}, the fallback plan (no payment method on file)"


def subscription_current_get(*, company: Company) -> Subscription:
    """The live subscription, else the most recent ended one; ``NotFound`` if the company never had one."""
    subscription = subscription_live_get(company=company) or (
        Subscription.objects.filter(company=company).select_related("plan").prefetch_related("add_ons").first()
    )
    if subscription is None:
        raise NotFound("This company has no subscription.", field="subscription")
    return subscription


def subscriptions_live_by_company(*, company_ids: Iterable[int]) -> dict[int, Subscription]:
    """The live (not canceled) subscription of each of these companies that has one."""
    rows = Subscription.objects.filter(company_id__in=set(company_ids)).exclude(status=SubscriptionStatus.CANCELED)
    return {row.company_id: row for row in rows}


def usage_counter_companies_nonzero(
    *, period: str, month_reset: str, window_from: dt.datetime, window_before: dt.datetime
) -> set[int]:
    """The companies with a non-zero counter of this kind of window whose window starts in ``[from, before)``."""
    return set(
        UsageCounter.objects.filter(
            period=period,
            month_reset=month_reset,
            value__gt=0,
            window_start__gte=window_from,
            window_start__lt=window_before,
        ).values_list("company_id", flat=True)
    )


def usage_counters_nonzero_started(
    *, period: str, month_reset: str, after: dt.datetime, until: dt.datetime
) -> list[UsageCounter]:
    """The non-zero counters of this kind of window whose window started in ``(after, until]`` (only their company
    and window start are loaded)."""
    return list(
        UsageCounter.objects.filter(
            period=period, month_reset=month_reset, value__gt=0, window_start__gt=after, window_start__lte=until
        ).only("company_id", "window_start")
    )


def _overrides_ending(since: dt.datetime, until: dt.datetime | None) -> Q:
    ending = Q(state=OverrideState.ACTIVE, expires_at__gt=since)
    return ending & Q(expires_at__lte=until) if until is not None else ending


def override_companies_ending(*, since: dt.datetime, until: dt.datetime) -> set[int]:
    """The companies with an active override that expires in ``(since, until]``."""
    ending = CompanyOverride.objects.filter(_overrides_ending(since, until))
    return set(ending.values_list("company_id", flat=True))


def override_next_expiry(*, after: dt.datetime) -> dt.datetime | None:
    """The first instant after ``after`` at which any active override expires."""
    at: dt.datetime | None = CompanyOverride.objects.filter(_overrides_ending(after, None)).aggregate(
        at=Min("expires_at")
    )["at"]
    return at


def override_in_force_q(now: dt.datetime) -> Q:
    """Overrides in force at ``now``: active and not past their expiry (``override_state_at`` as a query)."""
    return Q(state=OverrideState.ACTIVE) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def override_lapsed_q(now: dt.datetime) -> Q:
    """Overrides still marked active whose expiry has come: expired at ``now``, not yet marked by the job."""
    return Q(state=OverrideState.ACTIVE, expires_at__lte=now)


def override_state_q(state: str, now: dt.datetime) -> Q:
    """Overrides in ``state`` at ``now`` (``override_state_at``): lapsed ones count as expired, not active."""
    if state == OverrideState.ACTIVE:
        return override_in_force_q(now)
    if state == OverrideState.EXPIRED:
        return Q(state=OverrideState.EXPIRED) | override_lapsed_q(now)
    return Q(state=state)


def override_list(*, company: Company, now: dt.datetime, state: str | None = None) -> QuerySet[CompanyOverride]:
    """The company's overrides, newest first (only those in ``state`` at ``now`` when given), with company and
    feature."""
    overrides = CompanyOverride.objects.filter(company=company).select_related("company", "feature")
    if state:
        overrides = overrides.filter(override_state_q(state, now))
    return overrides.order_by("-created_at")


def override_active_get(*, company: Company, feature: Feature, now: dt.datetime) -> CompanyOverride:
    """The company's override of ``feature`` in force at ``now``; ``NotFound`` (on ``feature``) when it has none."""
    override = (
        CompanyOverride.objects.select_related("company", "feature")
        .filter(override_in_force_q(now), company=company, feature=feature)
        .first()
    )
    if override is None:
        raise NotFound(f"No active override of '{feature.key}' for this company.", field="feature")
    return override


def api_key_secret_hash(secret: str) -> str:
    """The digest stored for a secret. A fast hash suffices: secrets carry 256 random bits."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKeyIdentity:
    """What a request needs to know about the key that signed it; cached, so authentication costs no query."""

    pk: int
    public_id: str
    name: str
    prefix: str

    is_authenticated = True  # DRF reads this off ``request.user``


_IDENTITY_TTL_SECONDS = 3600


API_KEYS_EPOCH = "apikeys"
"""A version token bumped whenever a key is revoked: per-process memos of identities check it."""


def api_key_identity_cache_key(secret_hash: str) -> str:
    """Where the identity of the key with this digest is cached."""
    return f"apikey:{secret_hash}"


def api_key_identity_get(*, secret: str) -> ApiKeyIdentity | None:
    """The active key with this secret (cached; revocation forgets it after commit), or ``None``."""
    secret_hash = api_key_secret_hash(secret)
    cached = cache.get(api_key_identity_cache_key(secret_hash))
    if cached is None:
        row = ApiKey.objects.filter(secret_hash=secret_hash, revoked_at__isnull=True).first()
        cached = ApiKeyIdentity(row.pk, row.public_id, row.name, row.prefix) if row else 0
        cache.set(api_key_identity_cache_key(secret_hash), cached, timeout=_IDENTITY_TTL_SECONDS)
    return cached or None


def api_key_is_active(*, api_key_id: int) -> bool:
    """Whether the key exists and is not revoked, read from the database (never cached): for a check that must not
    be answered by an identity cached just before a revocation committed."""
    return ApiKey.objects.filter(pk=api_key_id, revoked_at__isnull=True).exists()


def _owner_ids_for_keys(
    model: type[CompanyKey] | type[UserKey], owner_field: str, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    wanted = {(name.lower(), value.lower()) for name, value in pairs if text_storable(name) and text_storable(value)}
    if not wanted:
        return {}
    condition = Q()
    for name, value in wanted:
        condition |= Q(name_lower=name, value_lower=value)
    rows = (
        model.objects.annotate(name_lower=Lower("name"), value_lower=Lower("value"))
        .filter(condition)
        .values_list("name_lower", "value_lower", owner_field)
    )
    return {(name, value): owner_id for name, value, owner_id in rows}


def company_ids_for_keys(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The company each (key name, key value) pair names, as lower-cased pairs. One query; unmatched pairs absent."""
    return _owner_ids_for_keys(CompanyKey, "company_id", pairs)


def user_ids_for_keys(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The user each (key name, key value) pair names, as lower-cased pairs. One query; unmatched pairs absent."""
    return _owner_ids_for_keys(UserKey, "user_id", pairs)


# --- Usage history: the event log summed by day and by metric window ----------------------------------------------


# 400 years: the Gregorian calendar repeats, so an anchor moved back by it keeps its day (29 February too).
_ANCHOR_FAR_BACK_MONTHS = -400 * 12


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def usage_daily_totals(
    *, company: Company, event_name: str, since: dt.date, until: dt.date
) -> list[tuple[dt.date, int]]:
    """The company's net usage of ``event_name`` on each UTC day of ``[since, until)``, oldest first.

    Every day is present (0 when nothing was tracked); corrections (negative quantities) are subtracted, so a day
    whose corrections outweigh its usage reads below zero. One query, grouped by UTC day.
    """
    rows = (
        UsageEvent.objects.filter(
            company=company,
            event_name=event_name,
            occurred_at__gte=_utc_midnight(since),
            occurred_at__lt=_utc_midnight(until),
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=dt.UTC))
        .values("day")
        .annotate(total=Sum("quantity"))
        .order_by("day")  # also drops the model's default ordering, which would split the groups
    )
    by_day: dict[dt.date, int] = {row["day"]: row["total"] for row in rows}
    return [
        (day, by_day.get(day, 0)) for day in (since + dt.timedelta(days=n) for n in range(max(0, (until - since).days)))
    ]


@dataclass(frozen=True, slots=True)
class UsageWindowTotal:
    """One metric window, ``[start, end)`` in UTC, and the company's net usage tracked in it."""

    start: dt.datetime | None  # ``None``: ``all_time``, from the first event on
    end: dt.datetime | None  # ``None``: the window never ends (``all_time``)
    used: int


def usage_windows(
    *,
    period: str,
    month_reset: str,
    now: dt.datetime,
    count: int,
    period_start: dt.datetime | None = None,
) -> list[tuple[dt.datetime | None, dt.datetime | None]]:
    """The ``count`` latest windows of ``period`` up to the one holding ``now``, newest first, as ``[start, end)``.

    The windows the usage counters keep (``entitlements.documents.windows.counter_window``): UTC days, weeks from
    Sunday, months from the 1st, or, for ``billing_cycle`` months, from the day and time of ``period_start`` (the live
    subscription's; earlier months are taken to share that anchor, as they did when capture counted them; no
    subscription, or one not started yet: calendar months). ``all_time`` is a single window with no bounds. Pure.
    """
    if period == MetricPeriod.ALL_TIME:
        return [(None, None)]
    anchor: dt.datetime | None = None
    is_billing_cycle = period == MetricPeriod.CURRENT_MONTH and month_reset == MonthReset.BILLING_CYCLE
    if is_billing_cycle and period_start is not None and period_start <= now:
        # Moved far back so that every earlier window starts on the anchor day too (the engine never starts a window
        # before the anchor). The period's end is left out: it only caps the reset the engine reports once a period
        # has lapsed, while counters are keyed by their window's start alone.
        anchor = add_months(period_start, _ANCHOR_FAR_BACK_MONTHS)
    reset = month_reset if anchor is not None else MonthReset.FIRST_OF_MONTH
    windows: list[tuple[dt.datetime | None, dt.datetime | None]] = []
    moment = now
    end = window_reset_at(period, reset, moment, anchor)
    for _ in range(count):
        start = window_start(period, reset, moment, anchor)
        assert start is not None  # only ``all_time`` has no start
        windows.append((start, end))
        end, moment = start, start - dt.timedelta(microseconds=1)
    return windows


def usage_period_totals(
    *, company: Company, event_name: str, period: str, month_reset: str, now: dt.datetime, count: int
) -> list[UsageWindowTotal]:
    """The company's net usage of ``event_name`` in each of the ``count`` latest ``period`` windows up to the one
    holding ``now``, newest first (windows as ``usage_windows`` defines them; billing-cycle months follow the live
    subscription's period start). Summed from the event log, corrections subtracted: a counter, which never goes
    below zero, can read more than a window whose corrections outweighed its usage. One query, after reading the
    live subscription for billing-cycle months (``subscription_live_get``: free when the company comes with it
    prefetched)."""
    period_start = None
    if period == MetricPeriod.CURRENT_MONTH and month_reset == MonthReset.BILLING_CYCLE:
        subscription = subscription_live_get(company=company)
        period_start = subscription.current_period_start if subscription is not None else None
    windows = usage_windows(period=period, month_reset=month_reset, now=now, count=count, period_start=period_start)
    totals = usage_range_totals(company=company, event_name=event_name, ranges=windows)
    return [
        UsageWindowTotal(start=start, end=end, used=used) for (start, end), used in zip(windows, totals, strict=True)
    ]


def usage_range_totals(
    *,
    company: Company,
    event_name: str,
    ranges: Sequence[tuple[dt.datetime | None, dt.datetime | None]],
) -> list[int]:
    """The company's net usage of ``event_name`` in each ``[start, end)`` of ``ranges`` (``None``: unbounded on that
    side), in the order given; corrections subtracted. One query (none for no ranges), however many ranges."""
    if not ranges:
        return []
    sums = {
        f"range_{index}": Sum("quantity", filter=_range_q(start, end), default=0)
        for index, (start, end) in enumerate(ranges)
    }
    events = UsageEvent.objects.filter(company=company, event_name=event_name)
    starts = [start for start, _ in ranges]
    if None not in starts:
        # only the span the ranges cover, so the index bounds the scan rather than the company's whole history
        events = events.filter(occurred_at__gte=min(start for start in starts if start is not None))
    totals = events.aggregate(**sums)
    return [int(totals[f"range_{index}"]) for index in range(len(ranges))]


def _range_q(start: dt.datetime | None, end: dt.datetime | None) -> Q:
    condition = Q()
    if start is not None:
        condition &= Q(occurred_at__gte=start)
    if end is not None:
        condition &= Q(occurred_at__lt=end)
    return condition
