"""The production load: signed deliveries sent at once to a receiver under
its page's production command, with a ``kill -9`` in the middle.

1,000 distinct deliveries (tracking updates and thin events of every other
type), a fifth of them sent twice, each copy signed on its own, shuffled,
over 16 connections. Halfway through, one server worker or the whole server
is killed with SIGKILL (the server is then started again on the same
socket, which the test holds, so connections wait in its backlog). Like the
platform, the sender sends a delivery again, signed afresh, when its
connection fails or it gets a 5xx. Two inbox workers drain the inbox while
the load runs.

What is measured (:class:`Figures`): deliveries lost (acknowledged or not,
never processed), tracking updates processed more than once, thin repeats
merged with a waiting twin or processed again, and whether each of those
followed the inbox's rule; answers by status, throughput and latency.

The test is ``tests/snippets/test_receive_production.py``; ``make bench``
(``tests/support/benchmark.py``) runs the same load and prints the figures.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sqlite3
import statistics
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from snippets import catalog, inbox
from snippets.payloads import sample_delivery
from tests.support.inboxes import answered_before
from tests.support.production import ProductionServer
from tests.support.reader import Reader
from tests.support.receivers import Signer, Tally, inbox_dir, workers

DISTINCT = 1000
REPEATED_SHARE = 0.2
THIN_SHARE = 0.4  # the rest are tracking updates
CONNECTIONS = 16
KILLS = ("worker", "server")


def _key(delivery: dict[str, Any]) -> str:
    return json.dumps(delivery, sort_keys=True)


def deliveries(distinct: int = DISTINCT, seed: int = 11) -> list[dict]:
    """Distinct deliveries: tracking updates and thin events of each type."""
    rng = random.Random(seed)
    thin = [e.value for e in catalog.EVENTS if e.resource_type != "API_TRACK"]
    found = []
    for n in range(distinct):
        if rng.random() < THIN_SHARE:
            delivery = sample_delivery(thin[n % len(thin)])
            delivery["resource_url"] = re.sub(
                r"se-\d+", f"se-7{n:06d}", delivery["resource_url"]
            )
        else:
            delivery = sample_delivery("track")
            delivery["data"]["tracking_number"] = f"9400{n:018d}"
        found.append(delivery)
    return found


def copies(
    items: list[dict], share: float = REPEATED_SHARE, seed: int = 12
) -> list[int]:
    """Indexes into ``items`` to send, in order: each once, a share twice."""
    rng = random.Random(seed)
    order = list(range(len(items)))
    order += rng.sample(order, int(len(items) * share))
    rng.shuffle(order)
    return order


@dataclass
class Attempt:
    key: str
    sent_at: float  # wall clock, as the inbox records its times
    answered_at: float | None  # None: the connection failed
    status: int | None
    seconds: float


@dataclass
class Figures:
    receiver: str
    kill: str
    deliveries: int  # distinct
    copies: int  # sent, repeats included (retries not)
    attempts: int  # requests made, retries included
    statuses: dict[str, int]  # answers by status; "failed": no answer
    lost: int  # distinct deliveries never processed
    not_acknowledged: int  # copies that never got a 2xx
    doubled: int  # tracking updates processed more than once
    thin_repeats: int  # thin deliveries sent twice
    thin_merged: int  # copies merged with a waiting twin (retries too)
    thin_again: int  # copies processed again: the twin was taken
    broken_rule: list[str]  # rows that break the dedupe rule
    seconds: float
    throughput: float  # copies acknowledged a second
    p50_ms: float
    p99_ms: float
    killed: str  # what was killed, and how long the restart took
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.receiver}, kill -9 {self.kill}: {self.copies} copies of "
            f"{self.deliveries} deliveries ({self.attempts} requests), "
            f"lost {self.lost}, tracking updates doubled {self.doubled}, "
            f"thin repeats {self.thin_repeats} (merged {self.thin_merged}, "
            f"processed again {self.thin_again}, against the rule "
            f"{len(self.broken_rule)}), {self.throughput:.0f}/s, "
            f"p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms, "
            f"answers {self.statuses}; {self.killed}"
        )

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


class _Killer:
    """Kills the server (or one of its workers) once, when told, on a thread
    of its own so no sender waits for the restart."""

    def __init__(self, server: ProductionServer, kill: str) -> None:
        self.server, self.kill = server, kill
        self.due = threading.Event()
        self.cancelled = False
        self.report = "nothing killed"
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def cancel(self) -> None:
        """Kill nothing if the kill is not under way yet."""
        self.cancelled = True
        self.due.set()
        self.thread.join(timeout=300)

    def _run(self) -> None:
        self.due.wait()
        if self.cancelled:
            return
        started = time.monotonic()
        if self.kill == "worker":
            pid = self.server.kill_worker()
            self.report = f"worker {pid} killed; its server replaced it"
            return
        self.server.kill()
        self.server.start()
        self.server.ready()
        took = time.monotonic() - started
        self.report = f"server killed and answering again {took:.1f} s later"


def _send(
    url: str,
    signer: Signer,
    items: list[dict],
    order: list[int],
    halfway: threading.Event,
) -> tuple[list[Attempt], float]:
    bodies = [json.dumps(item).encode() for item in items]
    keys = [_key(item) for item in items]
    attempts: list[Attempt] = []
    answered = Counter[bool]()
    lock = threading.Lock()
    local = threading.local()
    half = len(order) // 2

    def post(index: int) -> None:
        body = bodies[index]
        for _ in range(50):
            if not hasattr(local, "session"):
                local.session = requests.Session()
            headers = signer.headers(body)  # a retry is signed afresh
            sent_at, clock = time.time(), time.perf_counter()
            try:
                status = local.session.post(
                    url, data=body, headers=headers, timeout=15
                ).status_code
            except requests.RequestException:
                del local.session  # a new connection for the next try
                attempt = Attempt(keys[index], sent_at, None, None, 0.0)
                status = None
            else:
                attempt = Attempt(
                    keys[index],
                    sent_at,
                    time.time(),
                    status,
                    time.perf_counter() - clock,
                )
            with lock:
                attempts.append(attempt)
                answered[status is not None] += 1
                if answered[True] == half:
                    halfway.set()
            if status is not None and status < 500:
                return
            time.sleep(0.05)
        raise AssertionError("a delivery could not be sent in 50 attempts")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        list(pool.map(post, order))
    return attempts, time.perf_counter() - started


def _rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The inbox's rows by delivery, in the order they were made."""
    with closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        found = defaultdict(list)
        for row in db.execute("SELECT * FROM deliveries ORDER BY id"):
            found[_key(json.loads(row["body"]))].append(dict(row))
    return found


def _check_rule(rows: list[dict[str, Any]], tries: list[Attempt]) -> list[str]:
    """What in a thin delivery's rows breaks the rule: a repeat merged into
    a twin already taken, or a new row while the twin still waited.

    Only what the clocks prove: a store happens after its request was sent
    and before it was answered.
    """
    broken = []
    for row in rows:
        if row["claimed_at"] is None:
            return [f"row {row['id']}: never taken"]
        if row["times_received"] > 1:  # every store merged before the claim
            before = sum(a.sent_at <= row["claimed_at"] for a in tries)
            if before < row["times_received"]:
                broken.append(f"row {row['id']}: merged after its claim")
    for previous, row in itertools.pairwise(rows):
        answers = (a.answered_at for a in tries)
        if answered_before(previous["claimed_at"], answers):
            broken.append(f"row {row['id']}: made while its twin waited")
    return broken


def run(
    kind: str,
    kill: str,
    directory: Path,
    api_base: str,
    signer: Signer,
    site: Path,
    distinct: int = DISTINCT,
) -> Figures:
    """The load against ``kind``'s production command, killing ``kill``.
    The receiver runs from its download out of the built ``site``, in
    ``directory``, as a reader runs it."""
    Reader(site, directory).download(f"receive_{kind}.py")
    items = deliveries(distinct)
    order = copies(items)
    tally = Tally()
    with inbox_dir(directory) as folder:
        path = folder / "inbox.sqlite3"
        inbox.Inbox(str(path)).close()  # the schema, before two workers race
        server = ProductionServer(kind, path, api_base, directory)
        server.start()
        try:
            server.ready()
            killer = _Killer(server, kill)
            with workers(path, tally):
                attempts, seconds = _send(
                    server.url, signer, items, order, killer.due
                )
            killer.cancel()  # waits for a kill under way
        finally:
            log = server.stop()
        rows = _rows(path)
    return _figures(
        kind, kill, items, order, attempts, seconds, tally, rows, log, killer
    )


def _figures(
    kind: str,
    kill: str,
    items: list[dict],
    order: list[int],
    attempts: list[Attempt],
    seconds: float,
    tally: Tally,
    rows: dict[str, list[dict[str, Any]]],
    log: str,
    killer: _Killer,
) -> Figures:
    keys = [_key(item) for item in items]
    thin = {
        _key(item) for item in items if item["resource_type"] != "API_TRACK"
    }
    sent = Counter(keys[i] for i in order)
    tries: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        tries[attempt.key].append(attempt)
    acknowledged = Counter(
        a.key for a in attempts if a.status is not None and a.status < 300
    )
    broken = []
    merged = again = 0
    for key in thin:  # retries after the kill included
        key_rows = rows.get(key, [])
        if tally.processed.get(key, 0) != len(key_rows):
            broken.append(f"{len(key_rows)} rows, processed "
                          f"{tally.processed.get(key, 0)} times")  # fmt: skip
        broken += _check_rule(key_rows, tries[key])
        merged += sum(r["times_received"] - 1 for r in key_rows)
        again += len(key_rows) - 1
    latencies = sorted(a.seconds for a in attempts if a.status is not None)
    statuses = Counter(
        "failed" if a.status is None else str(a.status) for a in attempts
    )
    notes = []
    if "Traceback" in log:
        notes.append("the server logged a traceback")
    return Figures(
        receiver=kind,
        kill=kill,
        deliveries=len(items),
        copies=len(order),
        attempts=len(attempts),
        statuses=dict(sorted(statuses.items())),
        lost=sum(1 for key in keys if not tally.processed.get(key)),
        not_acknowledged=sum(
            max(0, n - acknowledged[key]) for key, n in sent.items()
        ),
        doubled=sum(
            1
            for key in keys
            if key not in thin and tally.processed.get(key, 0) > 1
        ),
        thin_repeats=sum(1 for key in thin if sent[key] > 1),
        thin_merged=merged,
        thin_again=again,
        broken_rule=broken,
        seconds=round(seconds, 2),
        throughput=round(sum(acknowledged.values()) / seconds, 1),
        p50_ms=round(statistics.median(latencies) * 1000, 1),
        p99_ms=round(statistics.quantiles(latencies, n=100)[98] * 1000, 1),
        killed=killer.report,
        notes=notes,
    )
