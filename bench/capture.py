"""Capture throughput: ``POST /batch`` with 100 track events a request, counters exact at the end.

wrk generates the load (a Lua script builds every body with fresh idempotency keys, so each event is new); the
baseline in the same run is the trivial Django JSON view receiving the same bodies. A second phase replays keys already
stored (every event a duplicate). At the end the stored counters must equal the sum of the stored events.

Run on PostgreSQL: ``DATABASE_URL=postgres://… REDIS_URL=… .venv/bin/python -m bench.capture [seconds [connections
[workers]]]`` (wrk from Debian's ``wrk`` package).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile

from bench.harness import bench_environment, database_kind, database_reset, django_run, seed, uvicorn_server

BATCH = 100
UNITS_PER_BATCH = sum(1 + index % 3 for index in range(BATCH))

_SCRIPT = """
local thread_counter = 0
function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
end
function init(args)
  prefix = args[1]
  counter = 0
end
request = function()
  counter = counter + 1
  local events = {}
  for i = 0, %(batch)d - 1 do
    events[#events + 1] = string.format(
      '{"api_key":"x","type":"track","idempotency_key":"%%s-%%d-%%d-%%d","body":{"event":"%(event)s",'
      .. '"company":{"external_id":"%(company)s"},"quantity":%%d}}', prefix, thread_id, counter, i, 1 + i %% 3)
  end
  local body = '{"events":[' .. table.concat(events, ",") .. ']}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Schematic-Api-Key"] = "%(secret)s"}, body)
end
"""


def _wrk(url: str, script: str, *, seconds: int, connections: int, prefix: str) -> tuple[int, float, int]:
    """Run wrk; return (completed requests, requests per second, non-2xx responses)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", file.name, url, "--", prefix],
        capture_output=True,
        text=True,
        check=True,
    )
    output = done.stdout
    completed = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return completed, rate, int(errors.group(1)) if errors else 0


def main(seconds: int, connections: int, workers: int) -> None:
    env = bench_environment()
    database_reset(env)
    seeded = seed(env)
    script = _SCRIPT % {"batch": BATCH, "event": seeded["event"], "company": seeded["company_key"],
                        "secret": seeded["secret"]}  # fmt: skip
    with uvicorn_server(env, workers=workers) as url:
        _wrk(url + "/bench/trivial", script, seconds=2, connections=connections, prefix="warm")
        _, trivial_rate, _ = _wrk(url + "/bench/trivial", script, seconds=seconds, connections=connections, prefix="t")
        _wrk(url + "/batch", script, seconds=2, connections=connections, prefix="warm")
        done, capture_rate, failures = _wrk(
            url + "/batch", script, seconds=seconds, connections=connections, prefix="c"
        )
        # The same keys again (same prefix, same counters): every event is a duplicate and must change nothing.
        _, repeat_rate, repeat_failures = _wrk(url + "/batch", script, seconds=seconds, connections=connections,
                                               prefix="c")  # fmt: skip
    counted = json.loads(
        django_run(
            env,
            "import json\nfrom django.db.models import Sum\nfrom entitlements.models import UsageCounter, UsageEvent\n"
            "print(json.dumps({'events': UsageEvent.objects.count(), 'units': UsageEvent.objects.aggregate(s=Sum("
            "'quantity'))['s'], 'counter': UsageCounter.objects.get(period='current_month', "
            "month_reset='first_of_month').value}))",
        ).strip()
    )
    exact = counted["counter"] == counted["units"] and counted["events"] % BATCH == 0
    print(
        f"Capture benchmark — {database_kind(env)}, uvicorn ×{workers} workers, wrk 2 threads × {connections} "
        f"connections, {seconds} s per phase, {BATCH} track events per request, fresh idempotency key on each"
    )
    print(f"  trivial view, same bodies : {trivial_rate * BATCH:9.0f} events/s")
    print(f"  POST /batch, new events   : {capture_rate * BATCH:9.0f} events/s   non-2xx {failures}")
    print(f"  POST /batch, all repeats  : {repeat_rate * BATCH:9.0f} events/s   non-2xx {repeat_failures}")
    print(f"  ratio capture/trivial     : {capture_rate / trivial_rate:.2f}×   (aim ≥ 20,000 events/s)")
    print(
        f"  counters exact            : {exact}  (events stored {counted['events']}, their units {counted['units']}, "
        f"month counter {counted['counter']}; wrk saw {done} requests complete in the new-events phase)"
    )
    if failures or repeat_failures or not exact:
        raise SystemExit("capture benchmark found errors")


if __name__ == "__main__":
    arguments = [int(argument) for argument in sys.argv[1:]]
    main(*(arguments + [10, 16, 2][len(arguments) :]))
