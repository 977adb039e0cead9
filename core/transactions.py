"""Collecting side effects of one transaction and running them once, after it commits."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.db import transaction

T = TypeVar("T")


class _Transaction(Generic[T]):
    """What one transaction added: each ``add`` parks its items in a *segment* registered as an ordinary commit hook
    (so Django drops it with the savepoint it was added in), and one *flush* hook, kept behind every segment, hands
    the surviving items over in one call."""

    def __init__(self, flush: Callable[[list[T]], None]) -> None:
        self._flush = flush
        self.items: list[T] = []
        self.flush_hook = self._run  # one bound method, so that it can be found again among the commit hooks

    def segment(self, items: list[T]) -> Callable[[], None]:
        return lambda: self.items.extend(items)

    def _run(self) -> None:
        items, self.items = self.items, []
        if items:
            self._flush(items)


class OnCommitBatch(Generic[T]):
    """Items added during one transaction are handed to ``flush`` in one call after it commits (in the order added);
    outside a transaction, at once. A rolled-back transaction drops what it added, and so does a rolled-back
    savepoint — only what was added inside it: the items added before it or after it are still flushed, as
    ``transaction.on_commit`` keeps or drops its callbacks. Per thread, on the default database.

    Many writes of one transaction then cause one side effect: one cache bump for a company touched ten times, one
    push to connected SDKs instead of one per service call.
    """

    def __init__(self, flush: Callable[[list[T]], None]) -> None:
        self._flush = flush
        self._local = threading.local()

    def add(self, items: Iterable[T]) -> None:
        items = list(items)
        connection = transaction.get_connection()
        if not connection.in_atomic_block:
            self._flush(items)
            return
        current: _Transaction[T] | None = getattr(self._local, "current", None)
        hooks = connection.run_on_commit
        # The flush hook is at or near the end (it is moved there at each add): look for it from the end.
        flush_at = (
            None
            if current is None
            else next((i for i in range(len(hooks) - 1, -1, -1) if hooks[i][1] is current.flush_hook), None)
        )
        if current is None or flush_at is None:
            current = _Transaction(self._flush)  # the first add of this transaction (the last one has ended)
            self._local.current = current
        else:
            del hooks[flush_at]
        # The segment belongs to the current savepoint: Django drops it if that savepoint rolls back.
        transaction.on_commit(current.segment(items))
        # The flush belongs to no savepoint (empty savepoint ids: only the whole transaction's rollback, which clears
        # every hook, drops it) and runs after every segment, since it is moved behind the newest one at each add.
        connection.run_on_commit.append((set(), current.flush_hook, False))
