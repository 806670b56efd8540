"""Tests for snippets/delivery_semantics.py (page:
docs/delivery-semantics.md)."""

import copy
import functools
import random
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snippets import catalog, inbox
from snippets.delivery_semantics import (
    SHIPMENTS,
    apply_update,
    handle_tracking_update,
    newest_event_at,
    occurred_at,
)
from snippets.payloads import sample_delivery

START = datetime(2026, 11, 24, 9, 12, tzinfo=UTC)


def package_history(
    codes, tracking_number="9405511899223197428490", step=3600
):
    """The updates a package produces, one per status, each listing every event
    so
    far, most recent first (as the platform sends them)."""
    updates, events = [], []
    for n, code in enumerate(codes):
        when = (START + timedelta(seconds=n * step)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        events.insert(
            0, {"occurred_at": when, "description": code, "status_code": code}
        )
        delivery = sample_delivery("track")
        delivery["data"].update(
            tracking_number=tracking_number,
            status_code=code,
            events=copy.deepcopy(events),
        )
        updates.append(delivery)
    return updates


@pytest.fixture
def db():
    connection = sqlite3.connect(":memory:")
    connection.execute(SHIPMENTS)
    yield connection
    connection.close()


def status(db, tracking_number="9405511899223197428490"):
    return db.execute(
        "SELECT status_code FROM shipments WHERE tracking_number = ?",
        (tracking_number,),
    ).fetchone()[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T14:03:00Z", "2026-11-26T14:03:00.000000Z"),
        ("2026-11-26T14:03:00+00:00", "2026-11-26T14:03:00.000000Z"),
        ("2026-11-26T09:03:00-05:00", "2026-11-26T14:03:00.000000Z"),
        ("2026-11-27T01:03:00+11:00", "2026-11-26T14:03:00.000000Z"),
        ("2026-11-26T14:03:00", "2026-11-26T14:03:00.000000Z"),  # no zone: UTC
        ("2026-11-26T14:03:00.25Z", "2026-11-26T14:03:00.250000Z"),
    ],
)
def test_event_times_are_brought_to_utc(text, expected):
    assert occurred_at({"occurred_at": text}) == expected


@settings(database=None)  # leave no .hypothesis directory behind
@given(
    st.lists(
        st.tuples(
            st.datetimes(
                min_value=datetime(2000, 1, 2),
                max_value=datetime(2099, 12, 30),
            ),
            st.integers(-12 * 60, 14 * 60),
        ),
        min_size=2,
        max_size=2,
    )
)
def test_later_times_sort_later_as_text_whatever_their_zone(pairs):
    moments = [
        naive.replace(tzinfo=timezone(timedelta(minutes=offset)))
        for naive, offset in pairs
    ]
    texts = [occurred_at({"occurred_at": m.isoformat()}) for m in moments]

    assert (moments[0] < moments[1]) == (texts[0] < texts[1])
    assert (moments[0] == moments[1]) == (texts[0] == texts[1])


def test_the_newest_event_is_found_whatever_the_order_of_the_list():
    data = sample_delivery("track")["data"]
    shuffled = dict(data, events=list(reversed(data["events"])))

    assert newest_event_at(data) == "2026-11-26T14:03:00.000000Z"
    assert newest_event_at(shuffled) == newest_event_at(data)
    assert newest_event_at(dict(data, events=[])) == ""


def test_a_newer_update_applies_an_older_or_repeated_one_does_not(db):
    accepted, in_transit, delivered = package_history(["AC", "IT", "DE"])

    assert apply_update(db, in_transit["data"]) is True
    assert apply_update(db, accepted["data"]) is False  # a straggler
    assert apply_update(db, in_transit["data"]) is False  # a repeat
    assert status(db) == "IT"
    assert apply_update(db, delivered["data"]) is True
    assert status(db) == "DE"


def test_an_update_without_events_only_fills_a_gap(db):
    (accepted,) = package_history(["AC"])
    not_yet = sample_delivery("track")
    not_yet["data"].update(status_code="NY", events=[])

    assert apply_update(db, not_yet["data"]) is True
    assert apply_update(db, accepted["data"]) is True
    assert apply_update(db, not_yet["data"]) is False
    assert status(db) == "AC"


@settings(max_examples=100, deadline=None, database=None)
@given(data=st.data())
def test_any_arrival_order_with_repeats_ends_at_the_newest_status(data):
    codes = data.draw(
        st.lists(
            st.sampled_from(sorted(catalog.STATUS_CODES)),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    updates = package_history(codes)
    repeats = data.draw(st.lists(st.sampled_from(updates), max_size=6))
    arrivals = data.draw(st.permutations(updates + repeats))
    db = sqlite3.connect(":memory:")
    db.execute(SHIPMENTS)
    told = []

    for delivery in arrivals:
        handle_tracking_update(db, delivery, lambda n, code: told.append(code))

    assert status(db) == codes[-1]
    assert told[-1] == codes[-1]  # the newest status is always told
    positions = [codes.index(code) for code in told]
    assert len(told) <= len(codes)
    assert positions == sorted(
        positions
    )  # never an older status after a newer one


def test_a_failed_notification_rolls_the_status_back_for_the_retry(db):
    (delivered,) = package_history(["DE"])

    def broken(tracking_number, status_code):
        raise ConnectionError("mail server down")

    with pytest.raises(ConnectionError):
        handle_tracking_update(db, delivered, broken)
    assert db.execute("SELECT count(*) FROM shipments").fetchone() == (0,)

    told = []
    assert (
        handle_tracking_update(db, delivered, lambda *a: told.append(a))
        is True
    )
    assert told == [("9405511899223197428490", "DE")]


def test_workers_applying_at_once_agree_on_one_winner(tmp_path):
    path = tmp_path / "shipments.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute(SHIPMENTS)
    packages = {
        f"TN{n}": package_history(["AC", "IT", "AT", "DE"], f"TN{n}")
        for n in range(10)
    }
    arrivals = [d for updates in packages.values() for d in updates] * 2
    random.Random(7).shuffle(arrivals)
    told = []
    lock = threading.Lock()

    def notify(tracking_number, code):
        with lock:
            told.append((tracking_number, code))

    def worker(share):
        db = sqlite3.connect(path, timeout=30)
        for delivery in share:
            handle_tracking_update(db, delivery, notify)
        db.close()

    threads = [
        threading.Thread(target=worker, args=(arrivals[i::3],))
        for i in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with sqlite3.connect(path) as db:
        final = dict(
            db.execute("SELECT tracking_number, status_code FROM shipments")
        )
    assert final == {tn: "DE" for tn in packages}
    assert len(told) == len(set(told))  # no status told twice
    for tracking_number, updates in packages.items():
        codes = [u["data"]["status_code"] for u in updates]
        mine = [codes.index(c) for t, c in told if t == tracking_number]
        assert mine == sorted(mine)  # in commit order, never backwards
        assert mine[-1] == codes.index("DE")


def test_it_plugs_into_the_inbox_worker(tmp_path):
    db = sqlite3.connect(tmp_path / "app.sqlite3")
    db.execute(SHIPMENTS)
    told = []
    handlers = dict(inbox.HANDLERS)
    handlers["API_TRACK"] = functools.partial(
        handle_tracking_update, db, notify=lambda n, code: told.append(code)
    )
    box = inbox.Inbox(str(tmp_path / "inbox.sqlite3"))
    accepted, in_transit, delivered = package_history(["AC", "IT", "DE"])
    for delivery in (delivered, accepted, delivered, in_transit, accepted):
        box.store(delivery)

    inbox.drain(box, handlers)

    assert told == ["DE"]
    assert box.counts() == {"done": 3}
    box.close()


def test_running_the_module_replays_a_shuffled_history(run_main, capsys):
    run_main("snippets.delivery_semantics")

    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "IT, newest event 2026-11-26T07:41:00.000000Z",
        "  tell the customer: 9405511899223197428490 is now IT",
        "DE, newest event 2026-11-26T14:03:00.000000Z",
        "  tell the customer: 9405511899223197428490 is now DE",
        "AC, newest event 2026-11-24T09:12:00.000000Z",
        "  old news: ignored",
        "DE, newest event 2026-11-26T14:03:00.000000Z",
        "  old news: ignored",
        "[('9405511899223197428490', 'DE', '2026-11-26T14:03:00.000000Z')]",
    ]


def test_the_download_prints_the_same_replay(reader, run_main, capsys):
    reader.download("delivery_semantics.py")
    run_main("snippets.delivery_semantics")
    in_process = capsys.readouterr().out

    answer = reader.run("delivery_semantics.py")

    assert answer.stdout == in_process, answer.stderr
