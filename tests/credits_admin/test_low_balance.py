"""Low-balance alerts: crossing below a credit type's threshold records one audit entry per crossing; the admin
shows the low accounts."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.credit_services import credit_type_update
from catalog.models import CreditType
from core.actors import SYSTEM_ACTOR
from core.models import AuditEntry
from credits.models import CreditAccount
from credits.services import credit_burn, credit_low_balance_check
from tests.credits_admin.conftest import Catalog
from tests.credits_admin.support import company_url, last_audit_id, post_action


def _alerts(since: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(pk__gt=since, action="credit.low_balance").order_by("pk"))


def _account(catalog: Catalog) -> CreditAccount:
    return CreditAccount.objects.get(company=catalog.company, credit_type__key="ai")


def test_low_balance__burn_crosses_threshold__one_alert_then_none_while_still_low(catalog: Catalog) -> None:
    # Given AI credits are low under 20, and Acme holds 48
    ai = CreditType.objects.get(key="ai")
    credit_type_update(actor=SYSTEM_ACTOR, credit_type=ai, low_balance_threshold=Decimal(20))
    account, since = _account(catalog), last_audit_id()
    assert credit_low_balance_check(account_id=account.pk, now=timezone.now()) is False  # 48: not low
    # When a burn takes the balance to 19 (the burn runs the check itself)
    credit_burn(actor=SYSTEM_ACTOR, company_id=catalog.company.pk, credit_type=ai, quantity=Decimal(29),
                now=timezone.now())  # fmt: skip
    # Then one alert is recorded, filed under the company, and the account is flagged low; checking again adds none
    assert credit_low_balance_check(account_id=account.pk, now=timezone.now()) is False
    (alert,) = _alerts(since)
    assert (alert.company_id, alert.after) == (
        catalog.company.public_id, {"credit_type": "ai", "balance": "19", "threshold": "20"}
    )  # fmt: skip
    assert _account(catalog).is_low is True
    # When it burns further and is checked twice more while still low
    credit_burn(actor=SYSTEM_ACTOR, company_id=catalog.company.pk, credit_type=ai, quantity=Decimal(1),
                now=timezone.now())  # fmt: skip
    assert credit_low_balance_check(account_id=account.pk, now=timezone.now()) is False
    assert credit_low_balance_check(account_id=account.pk, now=timezone.now()) is False
    # Then no further alert
    assert len(_alerts(since)) == 1


def test_low_balance__admin_adjustments__alert_once_per_crossing_and_reset_silently(
    account_executive_client: Client, catalog: Catalog
) -> None:
    # Given AI credits are low under 20% of the credits granted (Acme: 48 of 50 granted, so under 10)
    ai = CreditType.objects.get(key="ai")
    credit_type_update(actor=SYSTEM_ACTOR, credit_type=ai, low_balance_percent=20)
    company, since = catalog.company, last_audit_id()

    def adjust(quantity: str) -> None:
        response = post_action(account_executive_client, company, "adjust", credit_type=ai.pk, quantity=quantity,
                               note="correction")  # fmt: skip
        assert response.status_code == 302

    # When an account executive takes back 39 (balance 9), then 1 more
    adjust("-39")
    adjust("-1")
    # Then the first crossed the threshold: its adjustment and one alert; the second only its adjustment
    actions = list(AuditEntry.objects.filter(pk__gt=since).order_by("pk").values_list("action", flat=True))
    assert actions == ["credit.adjusted", "credit.low_balance", "credit.adjusted"]
    # And the company page and the account list show the account as low
    page = account_executive_client.get(company_url(company))
    assert page.context["company_credits"].sections[0].is_low is True and "low balance" in page.content.decode()
    low_list = account_executive_client.get(reverse("admin:credits_creditaccount_changelist"), {"is_low__exact": "1"})
    assert [account.company_id for account in low_list.context["cl"].result_list] == [company.pk]
    # When credits are added back above the threshold (8 + 50 of 100 granted), the flag clears without an entry
    adjust("50")
    assert _account(catalog).is_low is False
    assert len(_alerts(since)) == 1
    # And a new crossing alerts again
    adjust("-40")
    assert len(_alerts(since)) == 2
