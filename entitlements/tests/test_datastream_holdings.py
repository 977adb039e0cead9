"""Per connection, a company push goes out in full to an SDK that holds the company with other values of the fields
the Node SDK's partial merge ignores (``entitlements.datastream.holdings``)."""

from __future__ import annotations

from typing import Any

from entitlements.datastream.holdings import CompanyHoldings
from entitlements.datastream.messages import CompanyPush, encode, unmerged_fingerprint


def _document(company_id: str = "comp_1", **fields: Any) -> dict[str, Any]:
    return {"id": company_id, "keys": {"external_id": company_id}, "credit_postpaid": None, **fields}


def _answer(document: dict[str, Any]) -> dict[str, Any]:
    return {"entity_type": "rulesengine.Company", "message_type": "full", "entity_id": document["id"], "data": document}


def _push(document: dict[str, Any]) -> CompanyPush:
    partial = encode({"message_type": "partial", "entity_id": document["id"], "data": document})
    return CompanyPush(document["id"], partial, unmerged=unmerged_fingerprint(document), document=document)


POSTPAID = {"cred_1": {"overdraft_limit": 100.0}}


def test_holdings__unmerged_fields_unchanged__the_partial() -> None:
    holdings = CompanyHoldings()
    holdings.answered(_answer(_document()))
    push = _push(_document(traits=[{"value": "7"}]))

    assert holdings.outgoing(push) == push.text


def test_holdings__postpaid_changed_for_a_holder__full_once_then_partials() -> None:
    holdings = CompanyHoldings()
    holdings.answered(_answer(_document()))
    changed = _push(_document(credit_postpaid=POSTPAID))

    sent = holdings.outgoing(changed)

    assert sent == changed.full_text()
    assert '"message_type":"full"' in sent and '"overdraft_limit":100.0' in sent
    later = _push(_document(credit_postpaid=POSTPAID, credit_balances={"cred_1": 3.0}))
    assert holdings.outgoing(later) == later.text


def test_holdings__company_never_answered__the_partial() -> None:
    """The SDK does not hold it: a full would put a stranger in its cache."""
    push = _push(_document(credit_postpaid=POSTPAID))

    assert CompanyHoldings().outgoing(push) == push.text


def test_holdings__delete__forgotten() -> None:
    holdings = CompanyHoldings()
    holdings.answered(_answer(_document()))

    assert holdings.outgoing(CompanyPush("comp_1", "delete", deleted=True)) == "delete"
    push = _push(_document(credit_postpaid=POSTPAID))
    assert holdings.outgoing(push) == push.text
    assert len(holdings) == 0


def test_holdings__error_and_other_answers__nothing_remembered() -> None:
    holdings = CompanyHoldings()
    holdings.answered({"entity_type": "rulesengine.Company", "message_type": "error", "data": {"keys": {"a": "b"}}})
    holdings.answered({"entity_type": "rulesengine.Flags", "message_type": "full", "data": []})
    holdings.answered({"entity_type": "rulesengine.User", "message_type": "full", "data": {"id": "user_1"}})

    assert len(holdings) == 0


def test_holdings__capacity__the_least_recently_sent_forgotten() -> None:
    holdings = CompanyHoldings(capacity=2)
    for company_id in ("comp_1", "comp_2", "comp_3"):
        holdings.answered(_answer(_document(company_id)))

    first = _push(_document("comp_1", credit_postpaid=POSTPAID))
    third = _push(_document("comp_3", credit_postpaid=POSTPAID))
    assert holdings.outgoing(first) == first.text
    assert holdings.outgoing(third) == third.full_text()
