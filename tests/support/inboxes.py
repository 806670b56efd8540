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
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from snippets import inbox
from snippets.inbox import DeliveryInbox, Inbox, news_key
from snippets.inbox_postgres import PostgresInbox
from tests.support.paths import ROOT

KINDS = ("sqlite", "postgresql")
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

    def close(self) -> None:
        for box in self.opened:
            box.close()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


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
