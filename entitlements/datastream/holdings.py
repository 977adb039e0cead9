"""What one datastream connection's SDK holds of the company fields a partial cannot change in every SDK.

The Node SDK's partial merge ignores ``credit_postpaid`` and ``credit_spend_policies``
(``entitlements.datastream.messages.NODE_UNMERGED_FIELDS``): it keeps the values of the last ``full`` it got. So each
connection remembers, per company it was answered with a ``full``, those values; a company push whose current values
differ goes to that connection as a ``full`` instead of its partial (the SDK asked for the company, so a ``full`` fills
no stranger into its cache), and the values sent are remembered again. Other connections get the partial, which SDKs
that do not hold the company ignore. The Python SDK takes either. A delete forgets the company.

What is not known here is not corrected: an SDK that reconnects keeps the companies it held (the Node SDK does not ask
for them again), and this connection was never answered with them; like every push missed while disconnected, a change
of these fields then reaches that SDK with its next ``full``.
"""

from __future__ import annotations

from collections import OrderedDict

from entitlements.datastream.messages import COMPANY, CompanyPush, Message, Push, unmerged_fingerprint

HELD_COMPANIES_KEPT = 5_000
"""Companies remembered per connection, least recently sent forgotten first: the SDKs hold at most 1,000 (their LRU),
so an SDK evicts a company well before its connection forgets it. Values are fingerprints (a small string each)."""


class CompanyHoldings:
    """The ``NODE_UNMERGED_FIELDS`` values last sent to one connection in a ``full``, per company (public id)."""

    def __init__(self, capacity: int = HELD_COMPANIES_KEPT) -> None:
        self._capacity = capacity
        self._held: OrderedDict[str, str] = OrderedDict()

    def answered(self, message: Message) -> None:
        """Remember the company of an answer that is a company ``full`` (other answers change nothing)."""
        if message.get("entity_type") != COMPANY or message.get("message_type") != "full":
            return
        document = message.get("data")
        if isinstance(document, dict) and isinstance(document.get("id"), str):
            self._remember(document["id"], unmerged_fingerprint(document))

    def outgoing(self, push: Push) -> str:
        """The text frame to send for ``push``: its own, or the ``full`` form of a company push whose unmerged fields
        differ from what this connection's SDK was last sent."""
        if not isinstance(push, CompanyPush):
            return push
        if push.deleted:
            self._held.pop(push.company_id, None)
            return push.text
        held = self._held.get(push.company_id)
        if held is None or push.unmerged is None or held == push.unmerged:
            return push.text
        self._remember(push.company_id, push.unmerged)
        return push.full_text()

    def _remember(self, company_id: str, fingerprint: str) -> None:
        self._held[company_id] = fingerprint
        self._held.move_to_end(company_id)
        while len(self._held) > self._capacity:
            self._held.popitem(last=False)

    def __len__(self) -> int:
        return len(self._held)
