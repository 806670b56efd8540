"""A durable inbox: every verified delivery goes to SQLite before the receiver
answers.

Receivers call :meth:`Inbox.store` and answer 2xx only after it returns; a
worker (``python -m snippets.inbox``) drains the inbox and dispatches each
delivery by event, and tracking updates by status code. A redelivery of a
stored delivery is counted but never processed again; a crash at any point
loses nothing, and a restart resumes.

Run the worker: ``python -m snippets.inbox``; ``python -m snippets.inbox
status`` prints how many deliveries are in each state, ``python -m
snippets.inbox requeue`` gives the dead ones another round.
``YOURSTORE_INBOX_PATH`` names the file.
"""

# --8<-- [start:imports]
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

# --8<-- [start:inbox-imports]
import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from jsonschema import Draft202012Validator

# --8<-- [end:inbox-imports]
# --8<-- [end:imports]

# --8<-- [start:inbox]
INBOX_PATH = os.environ.get("YOURSTORE_INBOX_PATH", "webhook-inbox.sqlite3")
# Seconds a worker may hold a delivery before another may take it
LEASE = 300.0
MAX_ATTEMPTS = 8  # then it is parked as "dead", for a person to look at
log = logging.getLogger("webhooks")

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    delivery_id    TEXT PRIMARY KEY,   -- SHA-256 of the body's canonical JSON
    resource_type  TEXT NOT NULL,      -- API_TRACK, API_BATCH, ...
    body           TEXT NOT NULL,
    received_at    REAL NOT NULL,
    times_received INTEGER NOT NULL DEFAULT 1,
    state          TEXT NOT NULL DEFAULT 'pending',  -- pending, done or dead
    attempts       INTEGER NOT NULL DEFAULT 0,
    available_at   REAL NOT NULL,      -- not before: leases and retry backoff
    processed_at   REAL,
    last_error     TEXT
);
CREATE INDEX IF NOT EXISTS inbox_ready ON inbox (state, available_at);
"""


# What the inbox accepts: the delivery schema's required core. Extra fields and
# new event types pass, so a field the platform adds later never bounces a
# delivery.
DELIVERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "resource_url": {"type": "string"},
        "resource_type": {"type": "string"},
    },
    "required": ["resource_url", "resource_type"],
    "if": {"properties": {"resource_type": {"const": "API_TRACK"}}},
    "then": {
        "properties": {
            "data": {
                "type": "object",
                "properties": {
                    "tracking_number": {"type": "string"},
                    "status_code": {"type": "string"},
                },
                "required": ["tracking_number", "status_code"],
            }
        },
        "required": ["data"],
    },
}
_deliveries = Draft202012Validator(DELIVERY_SCHEMA)


def is_delivery(payload: Any) -> bool:
    """Enough of a delivery to store and dispatch (see DELIVERY_SCHEMA)."""
    return _deliveries.is_valid(payload)


def delivery_id(delivery: Mapping[str, Any]) -> str:
    """The same delivery gets the same id, however its JSON is spaced."""
    canonical = json.dumps(delivery, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Inbox:
    """Deliveries on disk. Safe to share between threads and processes."""

    def __init__(
        self, path: str = INBOX_PATH, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.clock = clock
        # One connection, one statement at a time; SQLite's own file locks keep
        # other processes (more receivers, the worker) in step. Autocommit:
        # each statement below is one atomic transaction.
        self._db = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode = WAL")  # reads never block writes
            db.execute("PRAGMA synchronous = FULL")  # commits reach the disk
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def store(self, delivery: Mapping[str, Any]) -> bool:
        """Save a verified delivery; False if it was in already (a repeat)."""
        now = self.clock()
        with self._connect() as db:
            ((times,),) = db.execute(
                "INSERT INTO inbox (delivery_id, resource_type, body,"
                " received_at, available_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (delivery_id) DO UPDATE"
                " SET times_received = times_received + 1"
                " RETURNING times_received",
                (
                    delivery_id(delivery),
                    delivery["resource_type"],
                    json.dumps(delivery),
                    now,
                    now,
                ),
            ).fetchall()
        return times == 1

    def claim(self) -> tuple[str, dict[str, Any]] | None:
        """Take the oldest ready delivery for LEASE seconds, or None."""
        now = self.clock()
        with self._connect() as db:
            rows = db.execute(
                "UPDATE inbox SET available_at = ?, attempts = attempts + 1"
                " WHERE delivery_id = (SELECT delivery_id FROM inbox"
                "   WHERE state = 'pending' AND available_at <= ?"
                "   ORDER BY received_at LIMIT 1)"
                " RETURNING delivery_id, body",
                (now + LEASE, now),
            ).fetchall()
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    def done(self, key: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE inbox SET state = 'done', processed_at = ?,"
                " last_error = NULL WHERE delivery_id = ?",
                (self.clock(), key),
            )

    def failed(self, key: str, error: Exception) -> None:
        """Retry later, waiting longer each time; park after MAX_ATTEMPTS."""
        with self._connect() as db:
            db.execute(
                "UPDATE inbox SET last_error = ?,"
                " state = CASE WHEN attempts >= ?"
                "   THEN 'dead' ELSE 'pending' END,"
                " available_at = ? + min(3600, 10 * (1 << (attempts - 1)))"
                " WHERE delivery_id = ?",
                (
                    f"{type(error).__name__}: {error}"[:500],
                    MAX_ATTEMPTS,
                    self.clock(),
                    key,
                ),
            )

    def requeue_dead(self) -> int:
        """Give parked deliveries a fresh set of attempts (cause fixed)."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE inbox SET state = 'pending', attempts = 0,"
                " available_at = ? WHERE state = 'dead'",
                (self.clock(),),
            )
            return cursor.rowcount

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each state."""
        with self._connect() as db:
            query = "SELECT state, count(*) FROM inbox GROUP BY state"
            return dict(db.execute(query).fetchall())


# --8<-- [end:inbox]

# --8<-- [start:handlers]
Handler = Callable[[dict[str, Any]], None]


def fetch_resource(delivery: dict[str, Any]) -> None:
    """Thin events only point at what changed: fetch it with your API key."""
    kind, url = delivery["resource_type"], delivery["resource_url"]
    log.info("%s: fetch %s", kind, url)


def shipped(data: dict[str, Any]) -> None:
    log.info("%s accepted by the carrier: ship it", data["tracking_number"])


def delivered(data: dict[str, Any]) -> None:
    log.info("%s delivered: close the order", data["tracking_number"])


def needs_attention(data: dict[str, Any]) -> None:
    number, code = data["tracking_number"], data["status_code"]
    log.warning("%s needs attention: %s", number, code)


def progress(data: dict[str, Any]) -> None:
    log.info("%s is now %s", data["tracking_number"], data["status_code"])


TRACKING_HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "AC": shipped,
    "DE": delivered,
    "SP": delivered,
    "AT": needs_attention,
    "EX": needs_attention,
}  # NY, IT and UN: progress


def tracking_update(delivery: dict[str, Any]) -> None:
    data = delivery["data"]
    TRACKING_HANDLERS.get(data["status_code"], progress)(data)


HANDLERS: dict[str, Handler] = {
    "API_TRACK": tracking_update,
    "API_BATCH": fetch_resource,
    "API_RATE": fetch_resource,
    "API_CARRIER_CONNECTED": fetch_resource,
    "API_SALES_ORDERS_IMPORTED": fetch_resource,
    "API_ORDER_SOURCE_REFRESH_COMPLETE": fetch_resource,
    "API_REPORT_COMPLETE": fetch_resource,
}


# --8<-- [end:handlers]


# --8<-- [start:worker]
def process_one(inbox: Inbox, handlers: Mapping[str, Handler]) -> bool:
    """Claim one delivery and handle it; False if nothing is ready."""
    claimed = inbox.claim()
    if claimed is None:
        return False
    key, delivery = claimed
    try:
        handler = handlers[delivery["resource_type"]]
        handler(delivery)
    except Exception as error:  # any failure: keep the delivery, retry later
        log.warning("delivery %s failed: %r", key[:12], error)
        inbox.failed(key, error)
    else:
        inbox.done(key)
    return True


def drain(inbox: Inbox, handlers: Mapping[str, Handler]) -> int:
    """Handle everything that is ready now; return how many were attempted."""
    count = 0
    while process_one(inbox, handlers):
        count += 1
    return count


def work(
    inbox: Inbox,
    handlers: Mapping[str, Handler],
    idle: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Drain the inbox forever, resting ``idle`` seconds when it is empty."""
    while True:
        if not drain(inbox, handlers):
            sleep(idle)


# --8<-- [end:worker]

# --8<-- [start:usage]
if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    inbox = Inbox(INBOX_PATH)
    if sys.argv[1:] == ["status"]:
        print(json.dumps(inbox.counts()))
    elif sys.argv[1:] == ["requeue"]:
        print(f"{inbox.requeue_dead()} dead deliveries queued again")
    else:
        try:
            work(inbox, HANDLERS)
        except KeyboardInterrupt:
            log.info("worker stopped; what is pending stays in %s", INBOX_PATH)
# --8<-- [end:usage]
