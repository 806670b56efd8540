"""A durable inbox: every verified delivery goes to SQLite before the receiver
answers, and a worker processes it later.

Receivers call ``parse_delivery`` and ``Inbox.store`` and answer 2xx only
after it returns; the worker drains the inbox and dispatches each delivery by
event, and tracking updates by status code. What counts as a repeat follows
what each event carries: a tracking update carries its news, so an identical
one is never processed twice; a thin event only names a resource, so a repeat
is merged with a twin that still waits and processed again once its twin has
been taken. A crash at any point loses nothing. Deliveries done longer ago
than ``KEEP_DONE_DAYS`` are pruned.

Run the worker: ``python inbox.py``; ``python inbox.py status`` prints how
many deliveries are in each state; ``python inbox.py requeue`` gives the
parked ones another round. ``YOURSTORE_INBOX_PATH`` names the file.
"""

import hashlib
import json
import logging
import math
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from typing import Any, Protocol

from jsonschema import Draft202012Validator

# --8<-- [start:inbox]
# --8<-- [start:settings]
INBOX_PATH = os.environ.get("YOURSTORE_INBOX_PATH", "webhook-inbox.sqlite3")
# A postgresql:// URL here puts the inbox in PostgreSQL (inbox_postgres.py)
INBOX_URL_ENV = "YOURSTORE_INBOX_URL"
# Days a processed delivery is kept (as a guard against repeats), then pruned
KEEP_DONE_DAYS = float(os.environ.get("YOURSTORE_INBOX_KEEP_DAYS", "7"))
# Seconds a worker may hold a delivery before another may take it
LEASE = 300.0
MAX_ATTEMPTS = 8  # then it is parked, for a person to look at
RETRY_FIRST_WAIT = 10  # seconds before a failed delivery is tried again,
RETRY_MAX_WAIT = 3600  # doubling each time, up to an hour
MAX_NESTING = 32  # levels of arrays and objects; a delivery uses 4
# Events whose body is the news itself: a tracking update carries the
# package's state. Every other event is thin: it names a resource to fetch.
FULL_EVENTS = frozenset({"API_TRACK"})
log = logging.getLogger("webhooks")

# --8<-- [end:settings]


# --8<-- [start:unavailable]
class InboxUnavailableError(Exception):
    """The inbox cannot take deliveries now (its database is unreachable,
    its disk full): answer 503, and the platform sends the delivery again."""


# --8<-- [end:unavailable]


# --8<-- [start:schema]
SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id             INTEGER PRIMARY KEY,
    news_key       TEXT NOT NULL,      -- SHA-256 of the body's canonical JSON
    resource_type  TEXT NOT NULL,      -- API_TRACK, API_BATCH, ...
    full           INTEGER NOT NULL,   -- 1: the body carries the news
    body           TEXT NOT NULL,
    received_at    REAL NOT NULL,
    times_received INTEGER NOT NULL DEFAULT 1,
    state          TEXT NOT NULL DEFAULT 'pending',  -- pending, done, parked
    attempts       INTEGER NOT NULL DEFAULT 0,
    claimed_at     REAL,               -- first claim; NULL while it waits
    available_at   REAL NOT NULL,      -- not before: leases and retry backoff
    processed_at   REAL,
    last_error     TEXT
);
-- The dedupe rule: a full delivery is one row however often it arrives; a
-- thin one shares a row only with a twin that no worker has claimed yet.
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_news ON deliveries (news_key)
    WHERE full = 1 OR claimed_at IS NULL;
CREATE INDEX IF NOT EXISTS deliveries_ready
    ON deliveries (state, available_at);
CREATE INDEX IF NOT EXISTS deliveries_done
    ON deliveries (state, processed_at);
"""
# --8<-- [end:schema]


# --8<-- [start:accept]
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


# --8<-- [end:accept]


# --8<-- [start:parse]
def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 is infinity to Python
        raise ValueError(f"the number {text[:20]} is out of range")
    return number


def _not_a_number(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


# --8<-- [start:parse-delivery]
def parse_delivery(body: bytes) -> Any:
    """The JSON in ``body`` if the inbox can store it as it is; else
    ValueError."""
    try:
        value = json.loads(
            body, parse_float=_finite, parse_constant=_not_a_number
        )
    except RecursionError:
        raise ValueError("nested too deep") from None
    stack = [(value, 1)]  # a loop, not recursion: depth is what we check
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth > MAX_NESTING:
            raise ValueError(f"nested deeper than {MAX_NESTING} levels")
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((inner, depth + 1) for inner in item.values())
        elif isinstance(item, list):
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            try:
                item.encode()  # UTF-8 cannot encode a lone surrogate
            except UnicodeEncodeError:
                raise ValueError("a string holds a lone surrogate") from None
    return value


# --8<-- [end:parse-delivery]
# --8<-- [end:parse]


# --8<-- [start:accept-check]
def is_delivery(payload: Any) -> bool:
    """Enough of a delivery to store and dispatch (see DELIVERY_SCHEMA)."""
    return _deliveries.is_valid(payload)


# --8<-- [end:accept-check]


# --8<-- [start:news]
def news_key(delivery: Mapping[str, Any]) -> str:
    """The same body gets the same key, however its JSON is spaced."""
    canonical = json.dumps(delivery, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --8<-- [end:news]


# --8<-- [start:open]
class Inbox:
    """Deliveries on disk. Safe to share between threads and processes."""

    def __init__(
        self,
        path: str = INBOX_PATH,
        clock: Callable[[], float] = time.time,
        keep_done_days: float = KEEP_DONE_DAYS,
        lease: float = LEASE,
    ) -> None:
        self.path = path
        self.clock = clock
        self.keep_done = keep_done_days * 86400  # seconds
        self.lease = lease
        # One connection, one statement at a time; SQLite's own file locks keep
        # other processes (more receivers, the worker) in step. Autocommit:
        # each statement below is one atomic transaction.
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            with self._connect() as db:
                db.execute("PRAGMA journal_mode = WAL")  # reads never block
                db.execute("PRAGMA synchronous = FULL")  # commits reach disk
                db.executescript(SCHEMA)
        except sqlite3.Error as error:  # a missing folder, a read-only file
            raise InboxUnavailableError(f"{path}: {error}") from error

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --8<-- [end:open]
    # --8<-- [start:store]
    def store(self, delivery: Mapping[str, Any]) -> bool:
        """Save a verified delivery; False if it joined a waiting twin."""
        kind = delivery["resource_type"]
        try:
            with self._connect() as db:
                now = self.clock()  # once this thread has the connection
                ((times,),) = db.execute(
                    "INSERT INTO deliveries (news_key, resource_type, full,"
                    " body, received_at, available_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                    # The dedupe rule, as the unique index deliveries_news
                    " ON CONFLICT (news_key)"
                    " WHERE full = 1 OR claimed_at IS NULL DO UPDATE"
                    " SET times_received = times_received + 1"
                    " RETURNING times_received",
                    (
                        news_key(delivery),
                        kind,
                        kind in FULL_EVENTS,
                        json.dumps(delivery, allow_nan=False),
                        now,
                        now,
                    ),
                ).fetchall()
        except sqlite3.Error as error:  # the disk full, the file read-only
            raise InboxUnavailableError(f"{self.path}: {error}") from error
        return times == 1

    # --8<-- [end:store]
    # --8<-- [start:claim]
    def claim(self) -> tuple[int, dict[str, Any]] | None:
        """Take the oldest ready delivery for ``lease`` seconds, or None."""
        now = self.clock()
        with self._connect() as db:
            rows = db.execute(
                "UPDATE deliveries SET available_at = ?,"
                " attempts = attempts + 1,"
                " claimed_at = coalesce(claimed_at, ?)"
                " WHERE id = (SELECT id FROM deliveries"
                "   WHERE state = 'pending' AND available_at <= ?"
                "   ORDER BY received_at LIMIT 1)"
                " RETURNING id, body",
                (now + self.lease, now, now),
            ).fetchall()
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    # --8<-- [end:claim]
    # --8<-- [start:outcome]
    def done(self, key: int) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET state = 'done', processed_at = ?,"
                " last_error = NULL WHERE id = ?",
                (self.clock(), key),
            )

    def failed(self, key: int, error: Exception) -> None:
        """Retry later, waiting longer each time; park after MAX_ATTEMPTS."""
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET last_error = ?,"
                " state = CASE WHEN attempts >= ?"
                "   THEN 'parked' ELSE 'pending' END,"
                " available_at = ? + min(?, ? * (1 << (attempts - 1)))"
                " WHERE id = ?",
                (
                    f"{type(error).__name__}: {error}"[:500],
                    MAX_ATTEMPTS,
                    self.clock(),
                    RETRY_MAX_WAIT,
                    RETRY_FIRST_WAIT,
                    key,
                ),
            )

    def park(self, key: int, reason: str) -> None:
        """Set a delivery aside at once, for a person to look at."""
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET state = 'parked', last_error = ?"
                " WHERE id = ?",
                (reason[:500], key),
            )

    # --8<-- [end:outcome]
    # --8<-- [start:upkeep]
    def requeue_parked(self) -> int:
        """Give parked deliveries a fresh set of attempts (cause fixed)."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0,"
                " available_at = ? WHERE state = 'parked'",
                (self.clock(),),
            )
            return cursor.rowcount

    def prune(self) -> int:
        """Forget deliveries done more than ``keep_done_days`` ago."""
        with self._connect() as db:
            cursor = db.execute(
                "DELETE FROM deliveries"
                " WHERE state = 'done' AND processed_at < ?",
                (self.clock() - self.keep_done,),
            )
            return cursor.rowcount

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each state."""
        with self._connect() as db:
            query = "SELECT state, count(*) FROM deliveries GROUP BY state"
            return dict(db.execute(query).fetchall())

    # --8<-- [end:upkeep]


class DeliveryInbox(Protocol):
    """What the receivers and the worker use: :class:`Inbox` (SQLite), or
    ``PostgresInbox`` (inbox_postgres.py), which has the same methods and
    keeps the same rule for repeats."""

    def store(self, delivery: Mapping[str, Any]) -> bool: ...
    def claim(self) -> tuple[int, dict[str, Any]] | None: ...
    def done(self, key: int) -> None: ...
    def failed(self, key: int, error: Exception) -> None: ...
    def park(self, key: int, reason: str) -> None: ...
    def requeue_parked(self) -> int: ...
    def prune(self) -> int: ...
    def counts(self) -> dict[str, int]: ...
    def close(self) -> None: ...


# --8<-- [start:choose]
def open_inbox(lease: float = LEASE) -> DeliveryInbox:
    """The inbox the environment names: the PostgreSQL database when
    YOURSTORE_INBOX_URL holds a postgresql:// URL, else the SQLite file."""
    url = os.environ.get(INBOX_URL_ENV, "").strip()
    if url.startswith(("postgresql://", "postgres://")):
        try:  # imported only here: SQLite needs no PostgreSQL driver
            from snippets.inbox_postgres import PostgresInbox
        except ImportError as error:
            raise InboxUnavailableError(
                f"{INBOX_URL_ENV} names PostgreSQL, which needs"
                f" inbox_postgres.py and its requirements: {error}"
            ) from error
        return PostgresInbox(
            url, lease=lease, unavailable=InboxUnavailableError
        )
    if url:
        log.warning(
            "%s is not a postgresql:// URL: using SQLite", INBOX_URL_ENV
        )
    return Inbox(INBOX_PATH, lease=lease)


# --8<-- [end:choose]
# --8<-- [end:inbox]

# --8<-- [start:handlers]
# --8<-- [start:thin]
Handler = Callable[[dict[str, Any]], None]


def fetch_resource(delivery: dict[str, Any]) -> None:
    """Thin events only point at what changed: fetch it with your API key."""
    kind, url = delivery["resource_type"], delivery["resource_url"]
    log.info("%s: fetch %s", kind, url)


# --8<-- [end:thin]


# --8<-- [start:tracking]
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


# --8<-- [end:tracking]


# --8<-- [start:dispatch]
HANDLERS: dict[str, Handler] = {
    "API_TRACK": tracking_update,
    "API_BATCH": fetch_resource,
    "API_RATE": fetch_resource,
    "API_CARRIER_CONNECTED": fetch_resource,
    "API_SALES_ORDERS_IMPORTED": fetch_resource,
    "API_ORDER_SOURCE_REFRESH_COMPLETE": fetch_resource,
    "API_REPORT_COMPLETE": fetch_resource,
}


# --8<-- [end:dispatch]
# --8<-- [end:handlers]


# --8<-- [start:worker]
# --8<-- [start:process]
def process_one(
    inbox: DeliveryInbox,
    handlers: Mapping[str, Handler],
    default: Handler | None = None,
) -> bool:
    """Claim one delivery and handle it; False if nothing is ready."""
    claimed = inbox.claim()
    if claimed is None:
        return False
    key, delivery = claimed
    kind = delivery["resource_type"]
    handler = handlers.get(kind, default)
    if handler is None:
        log.warning("no handler for %s: delivery %d parked", kind, key)
        inbox.park(key, f"no handler for {kind}")
        return True
    try:
        handler(delivery)
    except Exception as error:  # any failure: keep the delivery, retry later
        log.warning("delivery %d failed: %r", key, error)
        inbox.failed(key, error)
    else:
        inbox.done(key)
    return True


# --8<-- [end:process]


# --8<-- [start:loop]
def drain(inbox: DeliveryInbox, handlers: Mapping[str, Handler]) -> int:
    """Handle everything that is ready now; return how many were attempted."""
    count = 0
    while process_one(inbox, handlers):
        count += 1
    return count


def work(
    inbox: DeliveryInbox,
    handlers: Mapping[str, Handler],
    idle: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Drain the inbox forever; when it is empty, prune it and rest."""
    while True:
        if not drain(inbox, handlers):
            inbox.prune()
            sleep(idle)


# --8<-- [end:loop]
# --8<-- [end:worker]


# --8<-- [start:main]
def main() -> None:
    """Work the inbox, or print its counts (status), or requeue (requeue)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    folder = os.path.dirname(os.path.abspath(INBOX_PATH))
    if not os.path.isdir(folder) and not os.environ.get(INBOX_URL_ENV):
        raise SystemExit(
            f"no folder {folder} for the inbox {INBOX_PATH}: create it,"
            " or set YOURSTORE_INBOX_PATH to a file in a folder that exists"
        )
    try:
        inbox = open_inbox()
    except InboxUnavailableError as error:
        raise SystemExit(f"the inbox cannot be opened: {error}") from None
    where = INBOX_PATH if isinstance(inbox, Inbox) else "the database"
    with closing(inbox):  # however the command ends
        if sys.argv[1:] == ["status"]:
            print(json.dumps(inbox.counts()))
        elif sys.argv[1:] == ["requeue"]:
            print(f"{inbox.requeue_parked()} parked deliveries queued again")
        elif sys.argv[1:]:
            raise SystemExit("usage: python inbox.py [status | requeue]")
        else:
            try:
                work(inbox, HANDLERS)
            except KeyboardInterrupt:
                log.info("worker stopped; what is pending stays in %s", where)


if __name__ == "__main__":
    main()
# --8<-- [end:main]
