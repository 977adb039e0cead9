"""Streamed CSV downloads for the back-office: rows are written as they are read, so an export of many thousand
companies or audit entries starts at once and holds little memory (Django's own ``StreamingHttpResponse`` and the
standard ``csv`` module; no export library, since every export here is a read of a queryset the page already built)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone


class _Echo:
    """A file-like object whose ``write`` returns what it is given (``csv.writer`` then yields lines)."""

    def write(self, value: str) -> str:
        return value


def csv_stream_response(*, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """A CSV download named ``<name>-<UTC timestamp>.csv``: the header, then each row as it is produced."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # a byte-order mark, so spreadsheet programs read UTF-8 as UTF-8
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(["" if value is None else value for value in row])

    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
