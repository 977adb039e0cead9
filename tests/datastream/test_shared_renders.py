"""Pushes are rendered once per process and shared, but a connection never sends an older state after a newer one."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from entitlements.datastream import consumers
from entitlements.datastream.messages import Push


@pytest.fixture
def versions(monkeypatch: pytest.MonkeyPatch) -> itertools.count[int]:
    """Each render reads "the state" — a version that grows with every read, as committed state does."""
    state = itertools.count(1)

    def render(event: dict[str, Any]) -> tuple[int, list[consumers.Frame]]:
        order = next(consumers._read_order)
        return order, [(("company", 1), "document", f"{event['id']}@v{next(state)}")]

    monkeypatch.setattr(consumers, "_render", render)
    monkeypatch.setattr(consumers, "_renders", type(consumers._renders)())
    return state


def test_rendered__connections_meeting_an_event_together__share_one_render(versions: itertools.count[int]) -> None:
    async def scenario() -> list[list[Push]]:
        event = {"id": "e1"}
        results = await asyncio.gather(*(consumers._rendered(event, not_before=-1) for _ in range(50)))
        return [[text for _, _, text in frames] for _, frames in results]

    assert asyncio.run(scenario()) == [["e1@v1"]] * 50
    assert next(versions) == 2  # read once


def test_rendered__shared_render_older_than_what_was_sent__rendered_afresh(
    versions: itertools.count[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "_RENDERS_KEPT", 1)

    async def scenario() -> list[Push]:
        e1, e2 = {"id": "e1"}, {"id": "e2"}
        ahead1 = await consumers._rendered(e1, not_before=-1)
        ahead2 = await consumers._rendered(e2, not_before=ahead1[0])  # e1's render is evicted
        behind1 = await consumers._rendered(e1, not_before=-1)  # made again, after e2's shared one
        behind2 = await consumers._rendered(e2, not_before=behind1[0])  # so e2's shared one is older: afresh
        return [frame[2] for _, frames in [ahead1, ahead2, behind1, behind2] for frame in frames]

    assert asyncio.run(scenario()) == ["e1@v1", "e2@v2", "e1@v3", "e2@v4"]


def test_rendered__after_answering_a_request__older_shared_render_not_sent(versions: itertools.count[int]) -> None:
    async def scenario() -> list[Push]:
        event = {"id": "e1"}
        shared = await consumers._rendered(event, not_before=-1)  # other connections sent this
        answered = next(consumers._read_order)  # this connection answered a request, reading newer state
        mine = await consumers._rendered(event, not_before=answered)
        return [frame[2] for _, frames in [shared, mine] for frame in frames]

    assert asyncio.run(scenario()) == ["e1@v1", "e1@v2"]


def test_conflated__superseded_partials_dropped__deletes_answers_and_stronger_changes_kept() -> None:
    acme, globex = ("company", 1), ("company", 2)
    frames: list[consumers.Frame] = [
        (acme, "usage", "acme usage 1"),
        (globex, "document", "globex document"),
        (acme, "usage", "acme usage 2"),  # supersedes usage 1
        (acme, "document", "acme document 3"),  # supersedes usage 2 (carries more)
        (None, "answer", "an answer"),
        (acme, "usage", "acme usage 4"),  # carries less than document 3: both are sent
        (globex, "rekeyed", "globex delete"),  # a delete: kept, and the partial before it too
        (("flags", 0), "document", "flags 1"),
        (("flags", 0), "document", "flags 2"),
    ]
    assert consumers._conflated(frames) == [
        "globex document", "acme document 3", "an answer", "acme usage 4", "globex delete", "flags 2",
    ]  # fmt: skip
