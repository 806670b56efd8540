"""Tests for snippets/inbox_postgres.py (page: docs/inbox-postgres.md).

The contract it shares with the SQLite inbox is tested on both in
``test_inbox.py``; here is what only PostgreSQL has: concurrency between
connections, an unreachable server, the figures to watch, and the download
run alone against the test cluster, as a reader would.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time

import psycopg
import pytest

from snippets import inbox
from snippets.inbox import InboxUnavailableError, news_key
from snippets.inbox_postgres import PostgresInbox, watch
from snippets.payloads import sample_delivery
from tests.support.checks import RUFF
from tests.support.receivers import Receiver, Signer


@pytest.fixture
def database(postgres_cluster) -> str:
    """A new, empty database of the test cluster."""
    return postgres_cluster.fresh_database()


def _claiming(url: str) -> psycopg.Connection:
    """A connection in the middle of a claim: the oldest row locked and
    marked claimed, the transaction not yet committed."""
    db = psycopg.connect(url)
    db.execute(
        "UPDATE deliveries SET claimed_at = now(), attempts = attempts + 1"
        " WHERE id = (SELECT min(id) FROM deliveries)"
    )
    return db


@pytest.mark.parametrize(
    ("event", "stored_as_new"), [("rate", True), ("track", False)]
)
def test_a_repeat_racing_a_claim_waits_for_it_then_follows_the_rule(
    database, event, stored_as_new
):
    """The repeat's INSERT meets the row the claim holds: it waits for the
    claim's commit, then sees a claimed twin. A thin repeat becomes a row of
    its own; a tracking update is counted on its twin."""
    box = PostgresInbox(database)
    box.store(sample_delivery(event))
    claim = _claiming(database)
    results: list[bool] = []
    repeat = threading.Thread(
        target=lambda: results.append(box.store(sample_delivery(event)))
    )

    repeat.start()
    repeat.join(timeout=0.5)
    assert repeat.is_alive(), "the repeat did not wait for the claim"
    claim.commit()
    claim.close()
    repeat.join(timeout=30)

    assert results == [stored_as_new]
    assert sum(box.counts().values()) == (2 if stored_as_new else 1)
    box.close()


def test_processes_starting_at_once_create_the_table_once(database):
    """Receivers and workers that start together all create the schema if
    it is missing; the advisory lock keeps them from tripping over it."""
    errors: list[BaseException] = []

    def start() -> None:
        try:
            PostgresInbox(database, pool_size=1).close()
        except BaseException as error:  # collected, then asserted
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []


def test_an_unreachable_database_is_an_unavailable_inbox(
    postgres_cluster, database
):
    box = PostgresInbox(database, wait=1)
    box.store(sample_delivery("batch"))
    name = database.split("?")[0].rsplit("/", 1)[-1]
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s",
            (name,),
        )
    started = time.monotonic()

    with pytest.raises(InboxUnavailableError, match=r"\w"):
        box.store(sample_delivery("rate"))

    assert time.monotonic() - started < 30
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    # Back without a restart: the pool reconnects on its own. It retries a
    # failed connection after a backoff (1 s, then 2 s, ...), so the first
    # store after the server comes back may still be refused.
    deadline = time.monotonic() + 30
    while True:
        try:
            box.store(sample_delivery("rate"))
            break
        except InboxUnavailableError:
            assert time.monotonic() < deadline, "the inbox did not come back"
    assert box.counts() == {"pending": 2}
    box.close()


def test_opening_an_unreachable_database_is_an_unavailable_inbox(
    postgres_cluster,
):
    missing = postgres_cluster.url("no_such_database")

    with pytest.raises(InboxUnavailableError, match="no_such_database"):
        PostgresInbox(missing, wait=1)


def test_watch_reports_what_waits_how_long_and_what_is_parked(database):
    box = PostgresInbox(database)
    box.store(sample_delivery("batch"))
    box.park(box.claim()[0], "a person should look")
    two_minutes_ago = PostgresInbox(database, clock=lambda: time.time() - 120)
    two_minutes_ago.store(sample_delivery("rate"))
    box.store(sample_delivery("track"))

    figures = watch(database)

    assert figures["pending"] == 2
    assert figures["parked"] == 1
    assert 110 <= figures["oldest_pending_seconds"] <= 200  # the rate
    box.done(box.claim()[0])
    box.done(box.claim()[0])
    assert watch(database) == {
        "pending": 0,
        "oldest_pending_seconds": 0,
        "parked": 1,
    }
    box.close()
    two_minutes_ago.close()


def test_a_receiver_stores_into_postgresql_when_the_url_says_so(
    receiver: Receiver, signer: Signer, database, monkeypatch, tmp_path
):
    monkeypatch.setenv(inbox.INBOX_URL_ENV, database)
    monkeypatch.setattr(inbox, "INBOX_PATH", str(tmp_path / "unused.sqlite3"))
    receiver.module.inbox.cache_clear()
    jwks = json.loads(signer.jwks_path.read_text())
    body = json.dumps(sample_delivery("track")).encode()
    from snippets.verify_signatures import KeySet

    with receiver.trusting(KeySet.from_jwks(jwks)):
        post = receiver.poster()
        statuses = [post(signer.headers(body), body) for _ in range(2)]
    receiver.module.inbox().close()
    receiver.module.inbox.cache_clear()

    assert statuses == [204, 204]
    assert not (tmp_path / "unused.sqlite3").exists()
    box = PostgresInbox(database)
    assert box.claim()[1] == sample_delivery("track")
    assert box.counts() == {"pending": 1}
    box.close()


def test_running_the_module_prints_what_to_watch(
    database, monkeypatch, run_main, capsys
):
    monkeypatch.setenv(inbox.INBOX_URL_ENV, database)

    run_main("snippets.inbox_postgres")

    assert json.loads(capsys.readouterr().out) == {
        "pending": 0,
        "oldest_pending_seconds": 0,
        "parked": 0,
    }


def test_running_the_module_without_a_url_says_so_in_one_line(
    monkeypatch, run_main
):
    monkeypatch.delenv(inbox.INBOX_URL_ENV, raising=False)

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.inbox_postgres")

    assert str(exited.value.code).startswith(
        f"No figures: Set {inbox.INBOX_URL_ENV} to"
    )


# ----------------------------------------------- the download, as a reader
def test_the_download_runs_alone_against_a_real_server(reader, database):
    reader.download("inbox_postgres.py")
    env = {inbox.INBOX_URL_ENV: database}
    delivery = sample_delivery("rate")
    script = (
        "import json, sys\n"
        "from inbox_postgres import PostgresInbox\n"
        "box = PostgresInbox(sys.argv[1])\n"
        f"delivery = {delivery!r}\n"
        "stored = [box.store(delivery), box.store(delivery)]\n"
        "key, claimed = box.claim()\n"
        "stored.append(box.store(delivery))  # its twin is claimed\n"
        "box.done(key)\n"
        "print(json.dumps([stored, claimed, box.counts()]))\n"
    )

    first = reader.run("inbox_postgres.py", env=env)
    used = reader.run("-c", script, database)
    after = reader.run("inbox_postgres.py", env=env)

    assert json.loads(first.stdout) == {
        "pending": 0,
        "oldest_pending_seconds": 0,
        "parked": 0,
    }, first.stderr
    assert json.loads(used.stdout) == [
        [True, False, True],
        delivery,
        {"done": 1, "pending": 1},
    ], used.stderr
    assert json.loads(after.stdout)["pending"] == 1
    assert news_key(delivery) in {
        row[0]
        for row in psycopg.connect(database).execute(
            "SELECT news_key FROM deliveries"
        )
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "No figures: Set YOURSTORE_INBOX_URL to"),
        (
            {inbox.INBOX_URL_ENV: "postgresql://nobody@/x?host=/nonexistent"},
            "No figures: ",
        ),
    ],
)
def test_the_download_says_in_one_line_what_is_missing(reader, env, message):
    reader.download("inbox_postgres.py")

    result = reader.run("inbox_postgres.py", env=env, timeout=120)

    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_the_download_is_clean_python(reader):
    reader.download("inbox_postgres.py")

    result = subprocess.run(
        [RUFF, "check", "--isolated",
         "--select", "E,F,W,B,S", "--ignore", "S608",
         str(reader.folder / "inbox_postgres.py")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout
    formatted = subprocess.run(
        [RUFF, "format", "--check", "--isolated",
         "--line-length", "79", str(reader.folder / "inbox_postgres.py")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert formatted.returncode == 0, formatted.stdout


def test_only_the_postgresql_download_needs_the_driver(built_site):
    downloads = built_site / "downloads"
    postgres = (downloads / "requirements-postgres.txt").read_text()

    assert "psycopg[binary,pool]" in postgres
    assert "psycopg" not in (downloads / "requirements.txt").read_text()
