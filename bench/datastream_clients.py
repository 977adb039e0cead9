"""The client half of ``bench.datastream``: many raw datastream connections in one process, timing what they receive.

Usage: ``python -m bench.datastream_clients WS_URL SECRET COUNT``. Opens ``COUNT`` connections the way the SDK does
(``websockets`` client, permessage-deflate offered, no library pings, no size cap), each asks for the benchmark company
(so it holds it, as an SDK that checked it would), then prints ``ready`` and records the wall-clock time
(``time.time()``) at which each connection first holds each commit:

* company pushes carry the trait value ``seq-NNNNNN`` (the commit's sequence number). A connection that receives
  ``seq-12`` after ``seq-10`` holds commits 11 and 12 from that instant (the server renders the current state, so a
  slow render may carry a later commit than the one that caused it);
* flag snapshots carry the new flag ``fanout-N``; a connection holds change N when a snapshot lists it.

Commands, one a line on stdin, each answered with one JSON line on stdout:

* ``drain`` — wait until no frame has arrived for a second (at most 10 minutes); answer the counters so far and the
  time the last frame arrived (how long the server took to clear its backlog);
* ``stop LAST_SEQ LAST_FANOUT`` — wait (at most 15 s) until every connection holds both; answer, per commit and per
  flag change, the receipt times of all connections, with the counters; then close.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import defaultdict
from typing import Any

import uvloop
from websockets.asyncio.client import ClientConnection, connect

SEQ_MARK = '"value":"seq-'
SEQ_DIGITS = 6
OPEN_CONCURRENTLY = 25
COMPANY_KEY = "bench"
QUIET_SECONDS = 1.0
DRAIN_TIMEOUT = 600.0


def _seq_in(text: str) -> int | None:
    at = text.find(SEQ_MARK)
    if at < 0:
        return None
    start = at + len(SEQ_MARK)
    return int(text[start : start + SEQ_DIGITS])


class Receipts:
    """What every connection of this process received, and when."""

    def __init__(self) -> None:
        self.company: defaultdict[int, list[float]] = defaultdict(list)
        self.flags: defaultdict[int, list[float]] = defaultdict(list)
        self.frames = 0
        self.documents = 0  # company pushes carrying the whole document (with the marker trait)
        self.usage = 0  # company pushes carrying usage only (metrics and credit balances, no traits)
        self.snapshots = 0  # flag snapshots
        self.skipped = 0  # commits first held through a later commit's push
        self.last_receipt = 0.0
        self.errors: list[str] = []

    def counters(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "documents": self.documents,
            "usage": self.usage,
            "snapshots": self.snapshots,
            "skipped": self.skipped,
            "last_receipt": self.last_receipt,
            "errors": self.errors[:5],
            "error_count": len(self.errors),
        }


class Connection:
    def __init__(self, ws: ClientConnection, held_seq: int) -> None:
        self.ws = ws
        self.held_seq = held_seq
        self.next_fanout = 1

    async def read(self, receipts: Receipts) -> None:
        try:
            async for message in self.ws:
                received = time.time()
                text = message if isinstance(message, str) else message.decode()
                receipts.frames += 1
                receipts.last_receipt = received
                if text.startswith('{"entity_type":"rulesengine.Flags"'):
                    receipts.snapshots += 1
                    while f'"key":"fanout-{self.next_fanout}"' in text:
                        receipts.flags[self.next_fanout].append(received)
                        self.next_fanout += 1
                    continue
                seq = _seq_in(text)
                if seq is None:
                    receipts.usage += 1
                    continue
                receipts.documents += 1
                if seq > self.held_seq + 1:
                    receipts.skipped += seq - self.held_seq - 1
                for held in range(self.held_seq + 1, seq + 1):
                    receipts.company[held].append(received)
                self.held_seq = max(self.held_seq, seq)
        except Exception as error:  # reported, not raised: one broken connection must not hide the others' figures
            receipts.errors.append(repr(error))


async def _open(url: str, secret: str, gate: asyncio.Semaphore) -> Connection:
    async with gate:
        ws = await connect(
            url,
            additional_headers={"X-Schematic-Api-Key": secret},
            ping_interval=None,
            ping_timeout=None,
            max_size=None,
            open_timeout=60,
        )
        request = {
            "data": {"action": "start", "entity_type": "rulesengine.Company", "keys": {"external_id": COMPANY_KEY}}
        }
        await ws.send(json.dumps(request))
        answer = await asyncio.wait_for(ws.recv(), timeout=60)
        text = answer if isinstance(answer, str) else answer.decode()
        if '"message_type":"full"' not in text:
            raise RuntimeError(f"unexpected answer to the company request: {text[:200]}")
        return Connection(ws, _seq_in(text) or 0)


def _answer(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


async def _drain(receipts: Receipts) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline and time.time() - receipts.last_receipt < QUIET_SECONDS:
        await asyncio.sleep(0.1)
    _answer(receipts.counters())


async def _stop(receipts: Receipts, connections: list[Connection], last_seq: int, last_fanout: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(
        c.held_seq >= last_seq and c.next_fanout > last_fanout for c in connections
    ):
        await asyncio.sleep(0.05)
    _answer(
        {"connections": len(connections), "company": receipts.company, "flags": receipts.flags, **receipts.counters()}
    )


async def main(url: str, secret: str, count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 256)), hard))
    receipts = Receipts()
    gate = asyncio.Semaphore(OPEN_CONCURRENTLY)
    connections = await asyncio.gather(*(_open(url, secret, gate) for _ in range(count)))
    readers = [asyncio.create_task(connection.read(receipts)) for connection in connections]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if command and command[0] == "drain":
            await _drain(receipts)
            continue
        last_seq, last_fanout = (int(command[1]), int(command[2])) if len(command) == 3 else (0, 0)
        await _stop(receipts, connections, last_seq, last_fanout)
        break
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(c.ws.close() for c in connections), return_exceptions=True)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
