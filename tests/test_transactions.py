"""``core.transactions.OnCommitBatch``: one flush per committed transaction, nothing for a rolled-back one."""

from __future__ import annotations

import pytest
from django.db import transaction

from core.transactions import OnCommitBatch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def flushed() -> list[list[str]]:
    return []


@pytest.fixture
def batch(flushed: list[list[str]]) -> OnCommitBatch[str]:
    return OnCommitBatch(flushed.append)


def test_transaction__many_adds__one_flush_after_commit(batch: OnCommitBatch[str], flushed: list[list[str]]) -> None:
    with transaction.atomic():
        batch.add(["a"])
        batch.add(["b", "c"])
        assert flushed == []
    assert flushed == [["a", "b", "c"]]


def test_outside_a_transaction__flushed_at_once(batch: OnCommitBatch[str], flushed: list[list[str]]) -> None:
    batch.add(["a"])
    batch.add(["b"])
    assert flushed == [["a"], ["b"]]


def test_rolled_back__dropped__and_the_next_transaction_flushes_its_own(
    batch: OnCommitBatch[str], flushed: list[list[str]]
) -> None:
    def add_then_fail(items: list[str]) -> None:
        with transaction.atomic():
            batch.add(items)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        add_then_fail(["lost"])
    with transaction.atomic():
        batch.add(["kept"])
    assert flushed == [["kept"]]


def test_savepoint_rolled_back_first__its_items_dropped_later_ones_flushed(
    batch: OnCommitBatch[str], flushed: list[list[str]]
) -> None:
    def add_then_fail(items: list[str]) -> None:
        with transaction.atomic():
            batch.add(items)
            raise RuntimeError

    with transaction.atomic():
        with pytest.raises(RuntimeError):
            add_then_fail(["in savepoint"])
        batch.add(["after"])
    assert flushed == [["after"]]
