"""Both inboxes under one contract: the SQLite file (``snippets/inbox.py``)
and the PostgreSQL database (``snippets/inbox_postgres.py``), opened,
inspected and worked the same way.

The ``any_inbox`` fixture (``tests/snippets/conftest.py``) gives each
contract test an :class:`InboxUnderTest` of each kind. Worker processes for
the tests that kill them run this module:
``python -m tests.support.inboxes hang|work`` with the inbox named in the
environment, as ``open_inbox()`` reads it.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

from snippets import catalog, inbox
from snippets.inbox import DeliveryInbox, Inbox, news_key
from snippets.inbox_postgres import PostgresInbox
from snippets.payloads import sample_delivery
from tests.support.paths import ROOT

KINDS = ("sqlite", "postgresql")
# Tests stub time.sleep to stop the inbox's worker; waits here must not.
_pause = time.sleep
ROWS = (
    "SELECT resource_type, state, attempts, times_received, last_error"
    " FROM deliveries ORDER BY received_at, id"
)


@dataclass
class InboxUnderTest:
    """One inbox of either kind: where it is, and every copy opened on it."""

    kind: str  # "sqlite" or "postgresql"
    location: str  # the SQLite file, or the PostgreSQL database's URL
    opened: list[DeliveryInbox] = field(default_factory=list)

    def open(self, **options: Any) -> DeliveryInbox:
        """A new inbox object on the same deliveries (as another process,
        or a restarted one, would open it)."""
        box: DeliveryInbox = (
            Inbox(self.location, **options)
            if self.kind == "sqlite"
            else PostgresInbox(self.location, **options)
        )
        self.opened.append(box)
        return box

    @property
    def env(self) -> dict[str, str]:
        """The variables that make ``open_inbox()`` open this inbox."""
        if self.kind == "sqlite":
            return {"YOURSTORE_INBOX_PATH": self.location}
        return {inbox.INBOX_URL_ENV: self.location}

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """``sql`` run on the inbox's database, through its own driver."""
        if self.kind == "sqlite":
            with closing(sqlite3.connect(self.location)) as db:
                return db.execute(sql).fetchall()
        with psycopg.connect(self.location, autocommit=True) as db:
            return db.execute(sql).fetchall()

    def rows(self) -> list[tuple[Any, ...]]:
        """Type, state, attempts, times received and last error of every
        delivery, oldest first."""
        return [tuple(row) for row in self.query(ROWS)]

    def ledger(self) -> list[Row]:
        """Every row as the rule for repeats sees it, in the order stored."""
        if self.kind == "sqlite":
            sql = (
                "SELECT news_key, full, claimed_at, state, times_received"
                " FROM deliveries ORDER BY id"
            )
        else:
            sql = (
                "SELECT news_key, carries_news, extract(epoch FROM"
                " claimed_at), state, times_received FROM deliveries"
                " ORDER BY id"
            )
        return [
            Row(key, bool(full), float(took or 0), state, times)
            for key, full, took, state, times in self.query(sql)
        ]

    def connections(self, settle: float = 5) -> int:
        """How many connections are open on the inbox: this process's file
        handles on the SQLite file, or every client's session on the
        PostgreSQL database but the one asking.

        PostgreSQL ends a session's server process a moment after its client
        hangs up, so a count above zero is taken again until it reaches zero
        or ``settle`` seconds pass; a connection left open stays counted.
        """
        deadline = time.monotonic() + settle
        while (count := self._connections()) and time.monotonic() < deadline:
            _pause(0.05)
        return count

    def _connections(self) -> int:
        if self.kind == "sqlite":
            fds = Path("/proc/self/fd")
            target = os.path.realpath(self.location)
            return sum(
                1
                for fd in fds.iterdir()
                if os.path.realpath(fd) == target  # a closed fd: itself
            )
        [(count,)] = self.query(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"  # not autovacuum
        )
        return count

    def close(self) -> None:
        for box in self.opened:
            box.close()


@dataclass
class Row:
    key: str
    carries_news: bool
    claimed_at: float
    state: str
    times_received: int


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ----------------------------------------------------------------------- load
def load_deliveries(distinct: int, thin_share: float) -> list[dict[str, Any]]:
    """``distinct`` deliveries: tracking updates, and a share of thin events
    of every kind, each naming a resource of its own."""
    thin = [e.value for e in catalog.EVENTS if e.value != "track"]
    deliveries = []
    for n in range(distinct):
        if n % 100 < thin_share * 100:
            delivery = sample_delivery(thin[n % len(thin)])
            delivery["resource_url"] += f"-{n}"
        else:
            delivery = sample_delivery("track")
            delivery["data"]["tracking_number"] = f"9400{n:018d}"
        deliveries.append(delivery)
    return deliveries


@dataclass
class Sent:
    statuses: Counter[int] = field(default_factory=Counter)
    failovers: int = 0  # attempts sent again to the other receiver
    seconds: float = 0.0
    # When each attempt of a delivery (by news key) was answered, on the
    # wall clock the inbox records its times by; None: the connection
    # failed, so a store it made could have happened at any time.
    answered: dict[str, list[float | None]] = field(default_factory=dict)


def send_through(
    urls: list[str],
    requests_: list[tuple[bytes, dict[str, str]]],
    on_answer: Callable[[int], None],
    threads: int = 12,
) -> Sent:
    """Send every request, alternating between the receivers as a load
    balancer does; like the platform, send again (to the other receiver)
    when a connection fails or the answer is a 5xx."""
    sent = Sent()
    lock = threading.Lock()
    local = threading.local()

    def post(item: tuple[int, tuple[bytes, dict[str, str]]]) -> None:
        number, (body, headers) = item
        key = news_key(json.loads(body))
        target = number % len(urls)
        for _ in range(100):
            if not hasattr(local, "session"):
                local.session = requests.Session()
            try:
                status = local.session.post(
                    urls[target], data=body, headers=headers, timeout=15
                ).status_code
            except requests.RequestException:
                status = 0
                local.session = requests.Session()
            at = time.time() if status else None
            with lock:
                sent.statuses[status] += 1
                sent.answered.setdefault(key, []).append(at)
                answered = sum(sent.statuses.values())
                if not 0 < status < 500:
                    sent.failovers += 1
            on_answer(answered)
            if 0 < status < 500:
                return
            target = (target + 1) % len(urls)
            time.sleep(0.05)
        raise AssertionError("a delivery could not be sent in 100 attempts")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(post, enumerate(requests_)))
    sent.seconds = time.perf_counter() - started
    return sent


def answered_before(taken: float, answers: Iterable[float | None]) -> bool:
    """Whether every attempt to send a delivery was answered before
    ``taken``, so that a row it stored was stored before then: all the clocks
    can prove, since a store happens after its request is sent and before it
    is answered. ``None``: the connection was cut, and its store could have
    happened at any time."""
    return not any(at is None or at >= taken for at in answers)


def rule_problems(
    deliveries: list[dict[str, Any]],
    rows: list[Row],
    processed: Counter[str],
    answered: dict[str, list[float | None]],
) -> list[str]:
    """How the stored rows and the deliveries processed break the rule for
    repeats, if they do: nothing lost, a delivery that carries its news
    processed once, a thin one once per row, and a new row for a thin
    repeat only once its twin was claimed.

    For the last, only what the clocks prove (:func:`answered_before`). A
    row's ``received_at`` is read by the receiver just before its statement
    runs, so it can precede a claim that ran first; the answer cannot.
    """
    by_key: dict[str, list[Row]] = {}
    for row in rows:
        by_key.setdefault(row.key, []).append(row)
    problems = [
        f"{row.key} is {row.state}" for row in rows if row.state != "done"
    ]
    keys = {
        news_key(d): d["resource_type"] in inbox.FULL_EVENTS
        for d in deliveries
    }
    problems += [f"{k} was never processed" for k in keys if not processed[k]]
    problems += [
        f"{k} was processed, never sent" for k in set(processed) - set(keys)
    ]
    for key, full in keys.items():
        twins = by_key.get(key, [])
        if full and (len(twins), processed[key]) != (1, 1):
            problems.append(
                f"{key}: {len(twins)} rows, {processed[key]} times"
            )
        if not full and processed[key] != len(twins):
            problems.append(
                f"{key}: {len(twins)} rows, {processed[key]} times"
            )
        for earlier in twins[:-1]:  # the next row was made before this claim
            if answered_before(earlier.claimed_at, answered.get(key, [])):
                problems.append(
                    f"{key}: a new row before its twin was claimed"
                )
    return problems


# ----------------------------------------------------------- worker processes
def worker_env(under_test: InboxUnderTest) -> dict[str, str]:
    """The environment of a worker process on ``under_test``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    env.pop(inbox.INBOX_URL_ENV, None)
    return {**env, **under_test.env, "PYTHONUNBUFFERED": "1"}


def start_worker(
    under_test: InboxUnderTest, *args: str, log: Path | None = None
) -> subprocess.Popen[str]:
    """``python -m tests.support.inboxes <args>`` on ``under_test``."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.inboxes", *args],
        cwd=ROOT,
        env=worker_env(under_test),
        stdout=subprocess.PIPE,
        stderr=log.open("a") if log else subprocess.DEVNULL,
        text=True,
    )


@contextmanager
def stopped_at_end(
    processes: list[subprocess.Popen[str]],
) -> Iterator[list[subprocess.Popen[str]]]:
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
            if process.stdout:
                process.stdout.close()


def _hang(lease: float) -> None:
    """Claim a delivery, say which, and never finish it (until killed)."""
    box = inbox.open_inbox(lease=lease)
    while True:
        before = time.time()  # the lease ends no sooner than this + lease
        claimed = box.claim()
        if claimed is not None:
            break
        time.sleep(0.01)
    print(json.dumps({"key": claimed[0], "before": before}), flush=True)
    time.sleep(3600)


def _work(processed: Path, pause: float) -> None:
    """Work the inbox until stopped, appending the news key of every
    delivery handled to ``processed`` (one line each, one write each)."""
    handle = os.open(processed, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def record(delivery: dict[str, Any]) -> None:
        time.sleep(pause)  # a handler's work: fetching, writing
        os.write(handle, f"{news_key(delivery)}\n".encode())

    handlers = {kind: record for kind in inbox.HANDLERS}
    print("working", flush=True)
    inbox.work(inbox.open_inbox(), handlers, idle=0.02)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.inboxes")
    commands = parser.add_subparsers(dest="command", required=True)
    hang = commands.add_parser("hang")
    hang.add_argument("--lease", type=float, required=True)
    work = commands.add_parser("work")
    work.add_argument("--processed", type=Path, required=True)
    work.add_argument("--pause", type=float, default=0.002)
    args = parser.parse_args()
    if args.command == "hang":
        _hang(args.lease)
    else:
        _work(args.processed, args.pause)


if __name__ == "__main__":
    main()
