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


def _add_in_failed_savepoint(batch: OnCommitBatch[str], items: list[str], *, nested: list[str] | None = None) -> None:
    """Add ``items`` (and ``nested`` in an inner, committed savepoint) in a savepoint that then rolls back."""

    def add_then_fail() -> None:
        with transaction.atomic():
            batch.add(items)
            if nested is not None:
                with transaction.atomic():
                    batch.add(nested)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        add_then_fail()


def test_savepoint_rolled_back_after_an_outer_add__only_its_items_dropped(
    batch: OnCommitBatch[str], flushed: list[list[str]]
) -> None:
    # Given the outer block added first, when an inner savepoint adds and rolls back, then only the outer item is
    # flushed (before the fix, the inner item joined the outer block's pending list and was flushed too).
    with transaction.atomic():
        batch.add(["outer"])
        _add_in_failed_savepoint(batch, ["inner"])
    assert flushed == [["outer"]]


def test_savepoints_kept_and_dropped__survivors_flushed_once_in_order(
    batch: OnCommitBatch[str], flushed: list[list[str]]
) -> None:
    with transaction.atomic():
        batch.add(["a"])
        with transaction.atomic():
            batch.add(["b"])
            _add_in_failed_savepoint(batch, ["lost 1"])
            batch.add(["c"])
        _add_in_failed_savepoint(batch, ["lost 2"], nested=["lost 3"])
        batch.add(["d"])
    assert flushed == [["a", "b", "c", "d"]]


def test_last_add_in_a_savepoint_that_rolls_back__earlier_items_still_flushed(
    batch: OnCommitBatch[str], flushed: list[list[str]]
) -> None:
    with transaction.atomic():
        batch.add(["kept"])
        _add_in_failed_savepoint(batch, ["lost"])
    with transaction.atomic():
        batch.add(["next"])
    assert flushed == [["kept"], ["next"]]


def test_two_batches__each_flushes_its_own(flushed: list[list[str]]) -> None:
    other: list[list[str]] = []
    first, second = OnCommitBatch(flushed.append), OnCommitBatch(other.append)
    with transaction.atomic():
        first.add(["1a"])
        second.add(["2a"])
        first.add(["1b"])
    assert (flushed, other) == ([["1a", "1b"]], [["2a"]])
