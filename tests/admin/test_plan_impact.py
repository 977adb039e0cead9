"""Before a plan's entitlement changes, the plan page says who it hurts: "N companies are on Pro; M of them would go
over the new limit …", and saves only once "Apply these entitlement changes anyway" is ticked. A change that hurts
nobody saves at once.

The page tests submit the real plan page of the demo data as a browser would (``tests.admin.browser_form``); the
impact read (``entitlements.board.plan_impact``) is tested directly on the same demo data, one kind of change each.
Usage is recorded the way the SDKs report it (``batch_capture``).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Entitlement
from core.actors import SYSTEM_ACTOR
from core.models import AuditEntry
from entitlements.board.plan_impact import (
    CompanyOverLimit,
    EntitlementValues,
    PlanLimitChangeImpact,
    plan_limit_change_impact,
    plan_limit_change_impact_words,
)
from entitlements.demo.seed import demo_seed
from entitlements.models import Company
from entitlements.sdk.capture import batch_capture
from tests.admin.browser_form import admin_change_form_data

pytestmark = pytest.mark.django_db

# The demo's live companies on Pro: Globex (active), Initech (trialing) and Hooli (with the Extra generations add-on,
# whose 5,000 generations a month beat Pro's 1,000, and an override of 500 image exports a day). Globex's override
# switches Pro's brand voice off. Vandelay canceled Pro and is on Free.


def _use(external_id: str, event: str, quantity: int, *, now: dt.datetime) -> None:
    """Record ``quantity`` uses of ``event`` for the company, the way the SDKs report them."""
    body = {"event": event, "company": {"external_id": external_id}, "quantity": quantity}
    outcome = batch_capture(events=[{"type": "track", "body": body}], actor=SYSTEM_ACTOR, now=now)
    assert outcome.accepted == 1 and not outcome.rejected, outcome


def _entitlement(plan_key: str, feature_key: str) -> Entitlement:
    return Entitlement.objects.select_related("plan", "feature", "credit_type").get(
        plan__key=plan_key, feature__key=feature_key
    )


def _company(external_id: str) -> Company:
    return Company.objects.get(keys__value=external_id)


# --- The plan page -------------------------------------------------------------------------------------------------


def _plan_url(entitlement: Entitlement) -> str:
    return reverse("admin:catalog_plan_change", args=[entitlement.plan_id])


def _row_prefix(data: dict[str, list[str]], entitlement: Entitlement) -> str:
    """The form prefix of the entitlement's row in the plan page's inline (``entitlements-3``)."""
    for name, values in data.items():
        if name.startswith("entitlements-") and name.endswith("-id") and values == [str(entitlement.pk)]:
            return name.removesuffix("-id")
    raise AssertionError(f"no row for {entitlement} on the plan page")


def _edited_plan_page(client: Client, entitlement: Entitlement, **values: str) -> dict[str, list[str]]:
    """The plan page's submission with the entitlement's row edited as a person would."""
    page = client.get(_plan_url(entitlement))
    assert page.status_code == 200
    data = admin_change_form_data(page.content.decode(), model_name="plan")
    prefix = _row_prefix(data, entitlement)
    for name, value in values.items():
        data[f"{prefix}-{name}"] = [value]
    return data


def _audited(entitlement: Entitlement) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="entitlement.updated", target_id=entitlement.public_id))


def test_plan_page__limit_below_a_companys_usage__asks_first_then_saves_when_ticked(admin_on_demo: Client) -> None:
    # Given Globex (on Pro) has created 1,204 documents, and Pro gives unlimited documents
    _use("globex", "document-created", 1204, now=timezone.now())
    documents = _entitlement("pro", "documents")
    # When a person makes Pro's documents a limit of 1,000 in all and saves
    data = _edited_plan_page(
        admin_on_demo, documents, value_type="numeric", allocation="1000", metric_period="all_time"
    )
    page = admin_on_demo.post(_plan_url(documents), data)
    # Then the page comes back naming the company and the counts, with the box to tick, and nothing changed
    html = page.content.decode()
    assert page.status_code == 200
    assert (
        "3 companies are on Pro; 1 of them would go over the new limit of 1,000 documents: Globex (1,204 used)." in html
    )
    assert "Apply these entitlement changes anyway" in html
    assert _entitlement("pro", "documents").value_type == "unlimited"
    assert not _audited(documents)
    # When the person ticks the box on the page that came back and saves again
    again = admin_change_form_data(html, model_name="plan")
    again["apply_entitlement_changes"] = ["on"]
    response = admin_on_demo.post(_plan_url(documents), again)
    # Then the change is saved, and its audit entry says whom it hurt
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = _entitlement("pro", "documents")
    assert (saved.value_type, saved.allocation, saved.metric_period) == ("numeric", 1000, "all_time")
    [entry] = _audited(documents)
    assert "Globex (1,204 used)" in entry.note and entry.note.startswith("Applied anyway: 3 companies are on Pro")


def test_plan_page__change_that_hurts_nobody__saves_at_once(admin_on_demo: Client) -> None:
    # Given nobody on Pro has used more than 900 generations this month
    _use("globex", "generation", 120, now=timezone.now())
    generations = _entitlement("pro", "ai-generations")
    # When Pro's 1,000 generations a month become 900
    data = _edited_plan_page(admin_on_demo, generations, allocation="900")
    response = admin_on_demo.post(_plan_url(generations), data)
    # Then it saves on the first submit, with no note
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _entitlement("pro", "ai-generations").allocation == 900
    [entry] = _audited(generations)
    assert entry.note == ""


def test_plan_page__unchanged_with_the_box_ticked__saves_and_records_nothing(admin_on_demo: Client) -> None:
    generations = _entitlement("pro", "ai-generations")
    data = _edited_plan_page(admin_on_demo, generations)
    data["apply_entitlement_changes"] = ["on"]
    audited = AuditEntry.objects.count()
    response = admin_on_demo.post(_plan_url(generations), data)
    assert response.status_code == 302
    assert AuditEntry.objects.count() == audited  # the box is no change of the plan: nothing written or audited


def test_plan_page__feature_taken_away__lists_who_loses_access(admin_on_demo: Client) -> None:
    # Given Pro's brand voice, which Globex's override switches off
    brand_voice = _entitlement("pro", "brand-voice")
    # When the row is deleted from the plan page
    data = _edited_plan_page(admin_on_demo, brand_voice, DELETE="on")
    page = admin_on_demo.post(_plan_url(brand_voice), data)
    # Then the page names the two companies that would lose it, and the row is still there
    html = page.content.decode()
    assert page.status_code == 200
    assert "3 companies are on Pro; 2 of them would lose access to Brand voice: Hooli, Initech." in html
    assert Entitlement.objects.filter(pk=brand_voice.pk).exists()
    # When the box is ticked and the page saved again, the row goes, and its audit entry names the two
    again = admin_change_form_data(html, model_name="plan")
    again["apply_entitlement_changes"] = ["on"]
    assert admin_on_demo.post(_plan_url(brand_voice), again).status_code == 302
    assert not Entitlement.objects.filter(pk=brand_voice.pk).exists()
    entry = AuditEntry.objects.get(action="entitlement.deleted", target_id=brand_voice.public_id)
    assert entry.note.endswith("2 of them would lose access to Brand voice: Hooli, Initech.")


# --- The impact read -----------------------------------------------------------------------------------------------


@pytest.fixture
def now(db: None) -> dt.datetime:
    """The demo data seeded at this instant, at which usage is recorded and impacts are read."""
    at = timezone.now()
    demo_seed(now=at)
    return at


def _numeric(allocation: int, period: str, month_reset: str | None = None) -> EntitlementValues:
    return EntitlementValues(value_type="numeric", allocation=allocation, metric_period=period, month_reset=month_reset)


def _over(impact: PlanLimitChangeImpact) -> list[tuple[str, int, int]]:
    return [(row.company.name, row.usage, row.new_limit) for row in impact.over]


def test_impact__numeric_limit_lowered__counts_who_reaches_it_and_skips_an_override_holder(now: dt.datetime) -> None:
    # Given Pro gives 100 image exports a day; Hooli's override gives it 500
    _use("globex", "image-export", 12, now=now)
    _use("initech", "image-export", 10, now=now)
    _use("hooli", "image-export", 50, now=now)
    # When Pro's limit would become 10 a day
    impact = plan_limit_change_impact(
        entitlement=_entitlement("pro", "image-exports"), new=_numeric(10, "current_day"), now=now
    )
    # Then Globex would be over it and Initech at it (its next export refused); Hooli's override decides for Hooli
    assert impact.companies_on_plan == 3
    assert _over(impact) == [("Globex", 12, 10), ("Initech", 10, 10)]
    assert impact.losing_access == ()
    assert plan_limit_change_impact_words(impact) == (
        "3 companies are on Pro; 2 of them would go over the new limit of 10 exports: Globex (12 used), "
        "Initech (10 used)."
    )


def test_impact__unlimited_made_a_limit__lists_those_above_it(now: dt.datetime) -> None:
    _use("globex", "document-created", 7, now=now)
    _use("initech", "document-created", 2, now=now)
    impact = plan_limit_change_impact(
        entitlement=_entitlement("pro", "documents"), new=_numeric(5, "all_time"), now=now
    )
    assert _over(impact) == [("Globex", 7, 5)]


def test_impact__boolean_feature_removed__those_it_decides_for_lose_access(now: dt.datetime) -> None:
    # Given Pro's brand voice; Globex's override switches it off, so Pro's entitlement decides nothing for Globex
    impact = plan_limit_change_impact(entitlement=_entitlement("pro", "brand-voice"), new=None, now=now)
    # Then the two others would lose it (Initech is trialing Pro: it counts the same)
    assert impact.companies_on_plan == 3
    assert [company.name for company in impact.losing_access] == ["Hooli", "Initech"]
    assert impact.over == ()
    assert plan_limit_change_impact_words(impact) == (
        "3 companies are on Pro; 2 of them would lose access to Brand voice: Hooli, Initech."
    )


def test_impact__row_deleted_but_another_plan_grants_it__only_a_limit_reached_there_counts(now: dt.datetime) -> None:
    # Given Hooli's add-on gives 5,000 generations a month and its base plan Pro 1,000
    extra = _entitlement("extra-generations", "ai-generations")
    _use("hooli", "generation", 300, now=now)
    # When the add-on's entitlement would be deleted, Pro's 1,000 would decide: 300 used is no harm
    assert not plan_limit_change_impact(entitlement=extra, new=None, now=now).hurts
    # Once Hooli has used 1,204, Pro's 1,000 is its new limit, and it would be over it
    _use("hooli", "generation", 904, now=now)
    impact = plan_limit_change_impact(entitlement=extra, new=None, now=now)
    assert impact.companies_on_plan == 1
    assert _over(impact) == [("Hooli", 1204, 1000)]
    assert impact.losing_access == ()


def test_impact__add_on_limit_lowered__counts_its_holder(now: dt.datetime) -> None:
    _use("hooli", "generation", 2500, now=now)
    impact = plan_limit_change_impact(
        entitlement=_entitlement("extra-generations", "ai-generations"),
        new=_numeric(2000, "current_month", "first_of_month"),
        now=now,
    )
    assert impact.companies_on_plan == 1
    assert _over(impact) == [("Hooli", 2500, 2000)]
    assert impact.over[0] == CompanyOverLimit(_company("hooli"), 2500, 2000)


def test_impact__base_plan_lowered_where_an_add_on_wins__skips_the_add_on_holder(now: dt.datetime) -> None:
    _use("hooli", "generation", 1500, now=now)
    _use("globex", "generation", 150, now=now)
    impact = plan_limit_change_impact(
        entitlement=_entitlement("pro", "ai-generations"),
        new=_numeric(100, "current_month", "billing_cycle"),
        now=now,
    )
    assert _over(impact) == [("Globex", 150, 100)]


def test_impact__limit_set_to_zero__counts_as_losing_access(now: dt.datetime) -> None:
    impact = plan_limit_change_impact(
        entitlement=_entitlement("pro", "image-exports"), new=_numeric(0, "current_day"), now=now
    )
    assert [company.name for company in impact.losing_access] == ["Globex", "Initech"]  # Hooli: its override


def test_impact__limit_raised__hurts_nobody_even_those_over_it(now: dt.datetime) -> None:
    _use("globex", "image-export", 150, now=now)  # over today's 100 already
    impact = plan_limit_change_impact(
        entitlement=_entitlement("pro", "image-exports"), new=_numeric(120, "current_day"), now=now
    )
    assert not impact.hurts
    assert impact.companies_on_plan == 3
    assert plan_limit_change_impact_words(impact) == ""


def test_impact__shorter_window_with_the_same_limit__compares_the_usage_of_the_new_window(now: dt.datetime) -> None:
    # Given Globex used 120 generations this month (Pro: 1,000 a month)
    _use("globex", "generation", 120, now=now)
    # When the same allocation of 100 would count per day instead, Globex's 120 today reach it
    impact = plan_limit_change_impact(
        entitlement=_entitlement("pro", "ai-generations"), new=_numeric(100, "current_day"), now=now
    )
    assert _over(impact) == [("Globex", 120, 100)]


def test_impact_words__many_companies__names_the_first_and_counts_the_rest(now: dt.datetime) -> None:
    rows = tuple(CompanyOverLimit(company, 1000 + index, 1000) for index, company in enumerate(Company.objects.all()))
    entitlement = _entitlement("pro", "documents")
    impact = PlanLimitChangeImpact(plan=entitlement.plan, feature=entitlement.feature, companies_on_plan=12, over=rows)
    words = plan_limit_change_impact_words(impact, names_shown=2)
    assert words.startswith(
        f"12 companies are on Pro; {len(rows)} of them would go over the new limit of 1,000 documents: "
    )
    assert words.endswith(f"(1,001 used) and {len(rows) - 2} more.")
