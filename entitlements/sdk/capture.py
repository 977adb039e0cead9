"""Capturing a batch of SDK events (``POST /batch``): parse each event of the wire form, record the valid ones.

A bad event is rejected with its index and reason; the others are stored (``capture_batch_record``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from core.actors import Actor
from entitlements.sdk.capture_events import EventRejected, event_parse
from entitlements.services.capture import BatchOutcome, ParsedEvent, Rejection, capture_batch_record

logger = logging.getLogger(__name__)


def batch_capture(*, events: Sequence[Any], actor: Actor, now: dt.datetime) -> BatchOutcome:
    """Store a batch of at most 100 events; return what was stored, skipped and rejected. Committed on return."""
    parsed: list[tuple[int, ParsedEvent]] = []
    rejected: list[Rejection] = []
    for index, event in enumerate(events):
        try:
            parsed.append((index, event_parse(event, now=now)))
        except EventRejected as error:
            event_type = event.get("type") if isinstance(event, dict) else None
            rejected.append(Rejection(index, str(event_type or "unknown"), str(error)))
    outcome = capture_batch_record(parsed=parsed, actor=actor, now=now)
    outcome.rejected = sorted(rejected + outcome.rejected, key=lambda rejection: rejection.index)
    logger.info(
        "batch captured",
        extra={
            "actor": str(actor),
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
            "rejected": len(outcome.rejected),
        },
    )
    return outcome
