"""REST check throughput: ``POST /flags/{key}/check`` on a warm cache, next to a trivial Django JSON view.

Both are served the same way (uvicorn, 2 worker processes on this 2-core machine) and loaded the same way (wrk, POST
with a JSON body). Usage: ``DATABASE_URL=… REDIS_URL=… .venv/bin/python -m bench.rest_check [seconds]``.
"""

from __future__ import annotations

import json
import sys
import urllib.request

from bench.harness import (
    bench_environment,
    database_kind,
    database_reset,
    seed,
    uvicorn_server,
    wrk_post,
)

CONNECTIONS = 32


def main(seconds: int) -> None:
    env = bench_environment()
    database_reset(env)
    seeded = seed(env)
    check_body = {"company": {"external_id": seeded["company_key"]}, "user": None}
    check_url_path = f"/flags/{seeded['metered_flag']}/check"
    with uvicorn_server(env, workers=2) as url:
        request = urllib.request.Request(
            url + check_url_path,
            data=json.dumps(check_body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "X-Schematic-Api-Key": seeded["secret"]},
        )
        answer = json.loads(urllib.request.urlopen(request).read())
        assert answer["data"]["value"] is True, answer
        for warm in (url + "/bench/trivial", url + check_url_path):  # warm every worker's caches
            wrk_post(warm, body=check_body, secret=seeded["secret"], seconds=2, connections=CONNECTIONS)
        trivial = wrk_post(
            url + "/bench/trivial", body=check_body, secret=seeded["secret"], seconds=seconds, connections=CONNECTIONS
        )
        check = wrk_post(
            url + check_url_path, body=check_body, secret=seeded["secret"], seconds=seconds, connections=CONNECTIONS
        )
    cache = "Redis" if env.get("REDIS_URL") else "local memory"
    print(
        f"REST check benchmark — {database_kind(env)}, cache {cache}, uvicorn ×2 workers, wrk 2 threads × "
        f"{CONNECTIONS} connections, {seconds} s each"
    )
    print(
        f"  trivial JSON view : {trivial.requests_per_second:8.0f} req/s   p50 {trivial.p50_ms:6.2f} ms   "
        f"p99 {trivial.p99_ms:6.2f} ms   non-2xx {trivial.errors}"
    )
    print(
        f"  POST /flags/…/check: {check.requests_per_second:8.0f} req/s   p50 {check.p50_ms:6.2f} ms   "
        f"p99 {check.p99_ms:6.2f} ms   non-2xx {check.errors}"
    )
    print(
        f"  ratio check/trivial: {check.requests_per_second / trivial.requests_per_second:.2f}× throughput (aim ≥ 0.5×)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
