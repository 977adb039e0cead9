"""Credits on the company page: what it shows, and granting, adjusting and refunding through its forms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.credit_services import credit_bundle_create, credit_type_update
from catalog.models import CreditBundle, CreditType
from core.actors import SYSTEM_ACTOR
from core.models import AuditEntry
from credits.models import CreditGrant, CreditLedgerEntry
from entitlements.services.companies import company_create
from tests.credits_admin.conftest import Catalog
from tests.credits_admin.support import (
    assert_ledger_matches_account,
    audit_actions,
    balance,
    company_url,
    credits_url,
    last_audit_id,
    post_action,
    split,
)

AE = "account-executives"


def _ai() -> CreditType:
    return CreditType.objects.get(key="ai")


def test_company_page__credits_section__balance_grants_and_ledger_link(admin_client: Client, catalog: Catalog) -> None:
    # Given Acme holds 48 AI credits (50 granted, 2 burned), and another company has a ledger too
    other = company_create(actor=SYSTEM_ACTOR, name="Globex", now=timezone.now())
    post_action(admin_client, other, "grant", credit_type=_ai().pk, quantity="5", reason="manual", note="other")
    # When the company page opens
    response = admin_client.get(company_url(catalog.company))
    # Then its credits section shows the balance, the grant and the ledger, with the forms
    assert response.status_code == 200
    credits = response.context["company_credits"]
    (section,) = credits.sections
    assert (section.credit_type.key, section.balance) == ("ai", "48")
    assert [(row.quantity, row.remaining, row.grant.reason) for row in section.grants] == [("50", "48", "promotional")]
    assert [(row.entry.kind, row.quantity) for row in credits.ledger] == [("burn", "-2"), ("grant", "50")]
    page = response.content.decode()
    assert 'id="company-credits"' in page and 'id="credit-grant-form"' in page
    assert credits_url(catalog.company) in page
    # And the full ledger link lists this company's entries only
    ledger = admin_client.get(credits.ledger_url)
    assert ledger.status_code == 200
    assert {entry.company_id for entry in ledger.context["cl"].result_list} == {catalog.company.pk}
    assert ledger.context["cl"].result_count == 2


def test_company_credits__ae_grants_promotional_credits__balance_ledger_and_audit_follow(
    account_executive_client: Client, catalog: Catalog
) -> None:
    # Given Acme holds 48 AI credits
    company, ai, since = catalog.company, _ai(), last_audit_id()
    expires = (timezone.now() + dt.timedelta(days=60)).replace(microsecond=0)
    date, time = split(expires)
    # When an account executive grants 500 promotional credits expiring in 60 days, with a note
    response = post_action(
        account_executive_client, company, "grant", credit_type=ai.pk, quantity="500", reason="promotional",
        expires_at_0=date, expires_at_1=time, note="Q4 launch goodwill",
    )  # fmt: skip
    # Then the company page follows: balance 548, a grant of 500 with that expiry, a ledger entry with the note
    assert response.status_code == 302 and response.url == company_url(company) + "#company-credits"
    assert balance(company, ai) == Decimal(548)
    grant = CreditGrant.objects.get(company=company, quantity=500)
    assert (grant.reason, grant.remaining, grant.expires_at, grant.source) == ("promotional", 500, expires, "")
    entry = CreditLedgerEntry.objects.filter(company=company).first()
    assert entry is not None
    assert (entry.kind, entry.quantity, entry.grant_id, entry.note, entry.actor_label) == (
        "grant", 500, grant.pk, "Q4 launch goodwill", AE
    )  # fmt: skip
    assert_ledger_matches_account(company, ai)
    # And exactly one audit entry, filed under the company
    assert audit_actions(since) == [("credit.granted", AE, "Q4 launch goodwill")]
    assert AuditEntry.objects.get(action="credit.granted", pk__gt=since).company_id == company.public_id
    page = account_executive_client.get(company_url(company))
    assert page.context["company_credits"].sections[0].balance == "548"


def test_company_credits__ae_grants_bundle__bundle_quantity_expiry_and_source(
    account_executive_client: Client, catalog: Catalog
) -> None:
    # Given a 200-credit bundle that lasts 90 days, next to the fixture's 1,000-credit one without expiry
    company, ai, since = catalog.company, _ai(), last_audit_id()
    bundle = credit_bundle_create(
        actor=SYSTEM_ACTOR, credit_type=ai, key="ai-200", name="200 AI credits", quantity=Decimal(200),
        price_minor=250, currency="usd", expiry_days=90,
    )  # fmt: skip
    before = timezone.now()
    # When an account executive grants each bundle
    for chosen in (CreditBundle.objects.get(key="ai-1000"), bundle):
        response = post_action(account_executive_client, company, "grant", bundle=chosen.pk, note="Paid by invoice")
        assert response.status_code == 302, response.context and response.context["company_credit_forms"]
    # Then each became a purchase grant of the bundle's quantity, named after it, with the bundle's expiry
    grants = {grant.source: grant for grant in CreditGrant.objects.filter(company=company, reason="purchase")}
    big, small = grants[CreditBundle.objects.get(key="ai-1000").public_id], grants[bundle.public_id]
    assert (big.quantity, big.expires_at) == (1000, None)
    assert small.quantity == 200 and small.expires_at is not None
    assert before + dt.timedelta(days=90) <= small.expires_at <= timezone.now() + dt.timedelta(days=90)
    assert balance(company, ai) == Decimal(1248)
    assert_ledger_matches_account(company, ai)
    assert audit_actions(since)[-2:] == [("credit.granted", AE, "Paid by invoice")] * 2


def test_company_credits__bundle_and_quantity_together__refused_with_form_errors(
    account_executive_client: Client, catalog: Catalog
) -> None:
    since = last_audit_id()
    bundle = CreditBundle.objects.get(key="ai-1000")
    response = post_action(
        account_executive_client, catalog.company, "grant", bundle=bundle.pk, credit_type=_ai().pk, quantity="5",
        note="both",
    )  # fmt: skip
    assert response.status_code == 400
    form = next(block.form for block in response.context["company_credit_forms"] if block.action == "grant")
    assert set(form.errors) == {"credit_type", "quantity"}
    assert audit_actions(since) == []
    assert balance(catalog.company, _ai()) == Decimal(48)


def test_company_credits__ae_adjusts_down__adjustment_entries_without_usage_and_one_audit_entry(
    account_executive_client: Client, catalog: Catalog
) -> None:
    # Given Acme holds 48 AI credits
    company, ai, since = catalog.company, _ai(), last_audit_id()
    # When an account executive adjusts by -10 with a note
    response = post_action(account_executive_client, company, "adjust", credit_type=ai.pk, quantity="-10",
                           note="Double grant by mistake")  # fmt: skip
    # Then 10 credits are taken from the grant, on the ledger as an adjustment with no usage event
    assert response.status_code == 302
    assert balance(company, ai) == Decimal(38)
    assert CreditGrant.objects.get(company=company).remaining == 38
    entry = CreditLedgerEntry.objects.filter(company=company).first()
    assert entry is not None
    assert (entry.kind, entry.quantity, entry.usage_event_id, entry.note) == (
        "adjustment", -10, None, "Double grant by mistake"
    )  # fmt: skip
    assert_ledger_matches_account(company, ai)
    assert audit_actions(since) == [("credit.adjusted", AE, "Double grant by mistake")]
    audit = AuditEntry.objects.get(pk__gt=since)
    assert (audit.company_id, audit.after) == (
        company.public_id, {"credit_type": "ai", "quantity": "-10", "from_overdraft": "0", "balance_after": "38"}
    )  # fmt: skip


def test_company_credits__adjust_down_beyond_balance__refused_on_quantity_nothing_written(
    account_executive_client: Client, catalog: Catalog
) -> None:
    company, ai, since = catalog.company, _ai(), last_audit_id()
    entries = CreditLedgerEntry.objects.count()
    response = post_action(account_executive_client, company, "adjust", credit_type=ai.pk, quantity="-48.5",
                           note="too much")  # fmt: skip
    assert response.status_code == 400
    form = next(block.form for block in response.context["company_credit_forms"] if block.action == "adjust")
    assert "quantity" in form.errors and "48" in str(form.errors["quantity"])
    assert (balance(company, ai), CreditLedgerEntry.objects.count(), audit_actions(since)) == (Decimal(48), entries, [])


def test_company_credits__adjust_down_into_overdraft__stops_at_the_overdraft_floor(
    account_executive_client: Client, catalog: Catalog
) -> None:
    # Given AI credits may go 5 below zero, and Acme holds 48
    company, ai = catalog.company, _ai()
    credit_type_update(actor=SYSTEM_ACTOR, credit_type=ai, overdraft_limit=Decimal(5))
    # When an account executive takes back 53.5, then 53
    refused = post_action(account_executive_client, company, "adjust", credit_type=ai.pk, quantity="-53.5", note="x")
    taken = post_action(account_executive_client, company, "adjust", credit_type=ai.pk, quantity="-53", note="y")
    # Then the first is refused and the second takes the balance to the floor: 48 from the grant, 5 of overdraft
    assert (refused.status_code, taken.status_code) == (400, 302)
    assert balance(company, ai) == Decimal(-5)
    assert list(
        CreditLedgerEntry.objects.filter(company=company, kind="adjustment")
        .order_by("pk")
        .values_list("quantity", "grant_id")
    ) == [(-48, CreditGrant.objects.get(company=company).pk), (-5, None)]
    assert_ledger_matches_account(company, ai)


def test_company_credits__ae_adjusts_up__manual_grant_and_one_audit_entry(
    account_executive_client: Client, catalog: Catalog
) -> None:
    company, ai, since = catalog.company, _ai(), last_audit_id()
    response = post_action(account_executive_client, company, "adjust", credit_type=ai.pk, quantity="7.5",
                           note="Goodwill for the outage")  # fmt: skip
    assert response.status_code == 302
    assert balance(company, ai) == Decimal("55.5")
    grant = CreditGrant.objects.filter(company=company).first()
    assert grant is not None and (grant.reason, grant.quantity) == ("manual", Decimal("7.5"))
    assert_ledger_matches_account(company, ai)
    assert audit_actions(since) == [("credit.granted", AE, "Goodwill for the outage")]


def test_company_credits__ae_refunds__refund_entry_and_one_audit_entry(
    account_executive_client: Client, catalog: Catalog
) -> None:
    company, ai, since = catalog.company, _ai(), last_audit_id()
    response = post_action(account_executive_client, company, "refund", credit_type=ai.pk, quantity="2",
                           note="Generations failed on our side")  # fmt: skip
    assert response.status_code == 302
    assert balance(company, ai) == Decimal(50)
    entry = CreditLedgerEntry.objects.filter(company=company).first()
    assert entry is not None and entry.grant is not None
    assert (entry.kind, entry.quantity, entry.grant.reason) == ("refund", 2, "refund")
    assert_ledger_matches_account(company, ai)
    assert audit_actions(since) == [("credit.refunded", AE, "Generations failed on our side")]


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("grant", {"quantity": "5", "reason": "promotional"}),
        ("adjust", {"quantity": "-5"}),
        ("adjust", {"quantity": "5"}),
        ("refund", {"quantity": "5"}),
    ],
)
@pytest.mark.parametrize("note", ["", "   "])
def test_company_credits__without_a_note__refused_400_nothing_written(
    account_executive_client: Client, catalog: Catalog, action: str, fields: dict[str, str], note: str
) -> None:
    since, entries = last_audit_id(), CreditLedgerEntry.objects.count()
    response = post_action(account_executive_client, catalog.company, action, credit_type=_ai().pk, note=note, **fields)
    assert response.status_code == 400
    form = next(block.form for block in response.context["company_credit_forms"] if block.action == action)
    assert "note" in form.errors
    assert 'id="credit-' + action + '-form"' in response.content.decode()
    assert (CreditLedgerEntry.objects.count(), audit_actions(since)) == (entries, [])


def test_company_credits__unknown_action__refused_400(account_executive_client: Client, catalog: Catalog) -> None:
    response = account_executive_client.post(credits_url(catalog.company), {"action": "burn", "burn-note": "x"})
    assert response.status_code == 400


def test_company_credits__support__sees_credits_but_no_forms_and_posts_refused(
    support_client: Client, catalog: Catalog
) -> None:
    # Given Support opens the company page
    company, ai, since = catalog.company, _ai(), last_audit_id()
    page = support_client.get(company_url(company))
    # Then it shows the credits but no form and no link to post them
    assert page.status_code == 200
    assert page.context["company_credits"].sections[0].balance == "48"
    html = page.content.decode()
    assert 'id="company-credits"' in html
    assert "credit-grant-form" not in html and credits_url(company) not in html
    # And the credits page and every action post are refused
    assert support_client.get(credits_url(company)).status_code == 403
    for action, fields in [("grant", {"quantity": "5", "reason": "promotional"}), ("adjust", {"quantity": "-5"}),
                           ("refund", {"quantity": "5"})]:  # fmt: skip
        response = post_action(support_client, company, action, credit_type=ai.pk, note="sneaky", **fields)
        assert response.status_code == 403, action
    assert (balance(company, ai), audit_actions(since)) == (Decimal(48), [])


def test_company_credits__ae_opens_credits_page__forms_render(
    account_executive_client: Client, catalog: Catalog
) -> None:
    response = account_executive_client.get(credits_url(catalog.company))
    assert response.status_code == 200
    html = response.content.decode()
    assert all(f'id="credit-{action}-form"' in html for action in ("grant", "adjust", "refund"))
    assert reverse("admin:entitlements_company_change", args=[catalog.company.pk]) in html
