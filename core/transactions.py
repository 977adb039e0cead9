"""Collecting side effects of one transaction and running them once, after it commits."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.db import transaction

T = TypeVar("T")


class _Pending(Generic[T]):
    def __init__(self, flush: Callable[[list[T]], None]) -> None:
        self.items: list[T] = []
        self._flush = flush
        self.callback = self.run  # one bound method, so that it can be found again among the commit hooks

    def run(self) -> None:
        self._flush(self.items)


class OnCommitBatch(Generic[T]):
    """Items added during one transaction are handed to ``flush`` in one call after it commits (in the order added);
    outside a transaction, at once. A rolled-back transaction (or savepoint) drops what it added, as
    ``transaction.on_commit`` drops its callbacks. Per thread, on the default database.

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
        pending: _Pending[T] | None = getattr(self._local, "pending", None)
        if pending is None or not any(hook[1] is pending.callback for hook in connection.run_on_commit):
            pending = _Pending(self._flush)  # the first of this transaction (the last one committed or rolled back)
            self._local.pending = pending
            transaction.on_commit(pending.callback)
        pending.items.extend(items)
