"""Credit burns per second through capture (``entitlements.sdk.capture.batch_capture``: events, counters and burns
in one transaction), for one hot company and for events spread over 1,000 companies, next to the burn statements run as
raw SQL on the same connection in the same session. In-process, single-threaded, 100 events a batch.

Run on PostgreSQL: ``DATABASE_URL=postgres://… REDIS_URL=… .venv/bin/python -m bench.credit_burns``.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.harness import bench_environment, database_kind, database_reset, django_run

WORKER = Path(__file__).resolve().parent / "credit_burns_worker.py"


def main() -> None:
    env = bench_environment()
    database_reset(env)
    printed = django_run(env, f"import runpy; runpy.run_path({str(WORKER)!r}, run_name='__main__')")
    figures = json.loads(printed.strip().splitlines()[-1])
    print(f"Credit burn benchmark — {database_kind(env)}, in-process, one thread, batches of 100 track events")
    for label, capture, raw in (
        ("one hot company", figures["capture_hot"], figures["raw_hot"]),
        ("1,000 companies", figures["capture_spread"], figures["raw_spread"]),
    ):
        print(
            f"  {label:16}: through capture {capture:8.0f} burns/s   raw burn SQL {raw:8.0f} burns/s   "
            f"ratio {capture / raw:.2f}×"
        )
    print(f"  ledger sums equal balances (25 sampled accounts): {figures['ledger_matches_balances']}")


if __name__ == "__main__":
    main()
