"""The durable inbox in PostgreSQL, for receivers and workers on several
machines: the methods of the SQLite inbox (inbox.py), and its rule for
repeats.

Set YOURSTORE_INBOX_URL to your database's URL, such as
postgresql://webhooks:secret@db.internal:5432/webhooks, and the receivers and
the worker of inbox.py keep their deliveries there. ``python
inbox_postgres.py`` creates the table if it is missing and prints what to
watch: how many deliveries are pending, how old the oldest one is, how many
are parked.
"""

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from snippets.inbox import (
    FULL_EVENTS,
    INBOX_URL_ENV,
    KEEP_DONE_DAYS,
    LEASE,
    MAX_ATTEMPTS,
    InboxUnavailableError,
    news_key,
)
from snippets.settings import MissingSettingError, setting

# --8<-- [start:schema]
POOL_SIZE = 4  # connections per process, at most: one per thread that stores
WAIT = 5.0  # seconds to wait for a connection before giving up (503)
SCHEMA_LOCK = 0x1B0C5  # an advisory lock: one process creates the schema

SCHEMA = """
-- --8<-- [start:tables]
CREATE TABLE IF NOT EXISTS deliveries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    news_key       text NOT NULL,     -- SHA-256 of the body's canonical JSON
    resource_type  text NOT NULL,     -- API_TRACK, API_BATCH, ...
    carries_news   boolean NOT NULL,  -- the body is the news (API_TRACK)
    body           json NOT NULL,     -- as received: json keeps it verbatim
    received_at    timestamptz NOT NULL,
    times_received integer NOT NULL DEFAULT 1,
    state          text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'done', 'parked')),
    attempts       integer NOT NULL DEFAULT 0,
    claimed_at     timestamptz,       -- first claim; NULL while it waits
    available_at   timestamptz NOT NULL,  -- leases and retry backoff
    processed_at   timestamptz,
    last_error     text
);
-- The dedupe rule: a delivery that carries its news is one row however
-- often it arrives; a thin one shares a row only with an unclaimed twin.
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_news ON deliveries (news_key)
    WHERE carries_news OR claimed_at IS NULL;
-- What workers claim, oldest first; what is pruned; what a person fixes.
CREATE INDEX IF NOT EXISTS deliveries_pending
    ON deliveries (received_at, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_done
    ON deliveries (processed_at) WHERE state = 'done';
CREATE INDEX IF NOT EXISTS deliveries_parked
    ON deliveries (received_at) WHERE state = 'parked';
-- --8<-- [end:tables]
"""


def create_schema(db: psycopg.Connection[Any]) -> None:
    """The table and its indexes, if they are missing. Processes starting
    together take turns (an advisory lock), so none trips over another."""
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        db.execute(SCHEMA)


def connect(url: str, wait: float = WAIT) -> psycopg.Connection[Any]:
    """One connection of its own, in autocommit mode."""
    return psycopg.connect(
        url, autocommit=True, connect_timeout=max(2, round(wait))
    )


def one_line(error: Exception) -> str:
    """libpq's message (it may add a hint on a line of its own) in one."""
    return " ".join(str(error).split())


# --8<-- [start:text]
def text(value: str) -> str:
    """``value`` as PostgreSQL text can hold it: every character but NUL,
    which a JSON string may carry (as ``\\u0000``) and text cannot."""
    return value.replace("\x00", "\\u0000")


# --8<-- [end:text]
# --8<-- [end:schema]


# --8<-- [start:inbox]
class PostgresInbox:
    """Deliveries in PostgreSQL. Safe to share between threads, processes
    and machines."""

    def __init__(
        self,
        url: str,
        clock: Callable[[], float] = time.time,
        keep_done_days: float = KEEP_DONE_DAYS,
        lease: float = LEASE,
        pool_size: int = POOL_SIZE,
        wait: float = WAIT,
        unavailable: type[Exception] = InboxUnavailableError,
    ) -> None:
        # What to raise when the database cannot take a delivery: the class
        # the caller catches (open_inbox passes the one of its own module).
        self.unavailable = unavailable
        self.clock = clock
        self.keep_done = keep_done_days * 86400  # seconds
        self.lease = lease
        try:  # at once, so that a wrong URL says what is wrong with it
            with connect(url, wait) as db:
                create_schema(db)
        except psycopg.Error as error:
            raise unavailable(one_line(error)) from error
        # Autocommit: each statement below is one transaction, committed
        # (on disk, with PostgreSQL's defaults) before the call returns.
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=wait,
            kwargs={
                "autocommit": True,
                "connect_timeout": max(2, round(wait)),
            },
            check=ConnectionPool.check_connection,  # after a server restart
            open=True,
        )

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as db:
                yield db
        except psycopg.Error as error:  # unreachable, read-only, full...
            raise self.unavailable(one_line(error)) from error

    def close(self) -> None:
        self._pool.close()

    # --8<-- [start:store]
    def store(self, delivery: Mapping[str, Any]) -> bool:
        """Save a verified delivery; False if it joined a waiting twin."""
        kind = delivery["resource_type"]
        with self._connect() as db:
            (times,) = db.execute(
                "INSERT INTO deliveries (news_key, resource_type,"
                " carries_news, body, received_at, available_at)"
                " VALUES (%s, %s, %s, %s, to_timestamp(%s), to_timestamp(%s))"
                # The dedupe rule, as the unique index deliveries_news says
                " ON CONFLICT (news_key) WHERE carries_news"
                " OR claimed_at IS NULL DO UPDATE"
                " SET times_received = deliveries.times_received + 1"
                " RETURNING times_received",
                (
                    news_key(delivery),
                    text(kind),
                    kind in FULL_EVENTS,
                    json.dumps(delivery, allow_nan=False),
                    *[self.clock()] * 2,
                ),
            ).fetchone()
        return times == 1

    # --8<-- [end:store]
    # --8<-- [start:claim]
    def claim(self) -> tuple[int, dict[str, Any]] | None:
        """Take the oldest ready delivery for ``lease`` seconds, or None.

        SKIP LOCKED: workers never wait for each other, and no two take the
        same delivery. The claim commits at once: no lock is held while the
        handler runs, and a worker that dies hands it back when the lease
        runs out.
        """
        now = self.clock()
        with self._connect() as db:
            row = db.execute(
                "UPDATE deliveries SET attempts = attempts + 1,"
                " available_at = to_timestamp(%s),"
                " claimed_at = coalesce(claimed_at, to_timestamp(%s))"
                " WHERE id = (SELECT id FROM deliveries"
                "   WHERE state = 'pending'"
                "   AND available_at <= to_timestamp(%s)"
                "   ORDER BY received_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                " RETURNING id, body",
                (now + self.lease, now, now),
            ).fetchone()
        return (row[0], row[1]) if row else None

    # --8<-- [end:claim]
    def done(self, key: int) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET state = 'done',"
                " processed_at = to_timestamp(%s), last_error = NULL"
                " WHERE id = %s",
                (self.clock(), key),
            )

    def failed(self, key: int, error: Exception) -> None:
        """Retry later, waiting longer each time; park after MAX_ATTEMPTS."""
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET last_error = %s,"
                " state = CASE WHEN attempts >= %s"
                "   THEN 'parked' ELSE 'pending' END,"
                " available_at = to_timestamp(%s) + interval '1 second'"
                "   * least(3600, 10 * 2 ^ greatest(attempts - 1, 0))"
                " WHERE id = %s",
                (
                    text(f"{type(error).__name__}: {error}"[:500]),
                    MAX_ATTEMPTS,
                    self.clock(),
                    key,
                ),
            )

    def park(self, key: int, reason: str) -> None:
        """Set a delivery aside at once, for a person to look at."""
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET state = 'parked', last_error = %s"
                " WHERE id = %s",
                (text(reason[:500]), key),
            )

    def requeue_parked(self) -> int:
        """Give parked deliveries a fresh set of attempts (cause fixed)."""
        with self._connect() as db:
            return db.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0,"
                " available_at = to_timestamp(%s) WHERE state = 'parked'",
                (self.clock(),),
            ).rowcount

    def prune(self) -> int:
        """Forget deliveries done more than ``keep_done_days`` ago."""
        with self._connect() as db:
            return db.execute(
                "DELETE FROM deliveries"
                " WHERE state = 'done' AND processed_at < to_timestamp(%s)",
                (self.clock() - self.keep_done,),
            ).rowcount

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each state."""
        with self._connect() as db:
            query = "SELECT state, count(*) FROM deliveries GROUP BY state"
            return dict(db.execute(query).fetchall())


# --8<-- [end:inbox]


# --8<-- [start:watch]
WATCH = """
-- --8<-- [start:watch-sql]
SELECT
    count(*) FILTER (WHERE state = 'pending') AS pending,
    coalesce(extract(epoch FROM now() - min(received_at)
        FILTER (WHERE state = 'pending')), 0)::int AS oldest_pending_seconds,
    count(*) FILTER (WHERE state = 'parked') AS parked
FROM deliveries
WHERE state IN ('pending', 'parked');
-- --8<-- [end:watch-sql]
"""


def watch(url: str) -> dict[str, int]:
    """What to alert on: pending deliveries, the oldest one's age in
    seconds, parked deliveries."""
    with connect(url) as db:
        create_schema(db)
        cursor = db.execute(WATCH)
        names = [column.name for column in cursor.description or ()]
        return dict(zip(names, cursor.fetchone() or (), strict=True))


# --8<-- [end:watch]


# --8<-- [start:main]
def main() -> None:
    """Create the table if it is missing; print what to watch."""
    try:
        url = setting(INBOX_URL_ENV, "your database's postgresql:// URL")
        print(json.dumps(watch(url)))
    except (MissingSettingError, InboxUnavailableError, psycopg.Error) as e:
        raise SystemExit(f"No figures: {one_line(e)}") from None


if __name__ == "__main__":
    main()
# --8<-- [end:main]
