"""Tests for snippets/inbox.py (page: docs/inbox.md).

The inbox's contract (storing, the rule for repeats, claims and leases,
retries, parking, pruning, the worker) is tested against both inboxes: every
test that takes ``box`` or ``any_inbox`` runs once on the SQLite file and once
on PostgreSQL (``snippets/inbox_postgres.py``; fixtures in
``tests/snippets/conftest.py``). What only PostgreSQL has is in
``test_inbox_postgres.py``.
"""

import contextlib
import inspect
import itertools
import json
import logging
import math
import random
import runpy
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snippets import catalog, inbox, schemas
from snippets.inbox import (
    HANDLERS,
    MAX_ATTEMPTS,
    DeliveryInbox,
    Inbox,
    drain,
    news_key,
    work,
)
from snippets.inbox_postgres import PostgresInbox
from snippets.payloads import sample_delivery
from tests.support import production
from tests.support.fake_api import FakeApi
from tests.support.inboxes import (
    load_deliveries,
    rule_problems,
    send_through,
    start_worker,
    stopped_at_end,
)
from tests.support.reader import Reader
from tests.support.servers import LiveServer


def track(status_code: str, tracking_number: str = "1Z999") -> dict:
    delivery = sample_delivery("track")
    delivery["data"]["status_code"] = status_code
    delivery["data"]["tracking_number"] = tracking_number
    return delivery


def recorder():
    """Handlers for every event that record what they were given."""
    seen: list[dict] = []
    return seen, {e.resource_type: seen.append for e in catalog.EVENTS}


def test_both_inboxes_have_the_same_methods():
    methods = {
        name
        for name, _ in inspect.getmembers(DeliveryInbox, inspect.isfunction)
        if not name.startswith("_")
    }

    assert methods == {
        "store", "claim", "done", "failed", "park", "requeue_parked",
        "prune", "counts", "close",
    }  # fmt: skip
    for name in methods:
        expected = inspect.signature(getattr(DeliveryInbox, name))
        for kind in (Inbox, PostgresInbox):
            assert inspect.signature(getattr(kind, name)) == expected, name


def test_a_stored_delivery_is_on_disk_for_the_next_process(
    any_inbox, box, clock
):
    assert box.store(sample_delivery("batch")) is True

    reopened = any_inbox.open(clock=clock)  # as a restarted process would

    assert reopened.counts() == {"pending": 1}
    assert reopened.claim()[1] == sample_delivery("batch")


def test_a_tracking_update_repeated_is_counted_not_stored_twice(
    any_inbox, box
):
    delivery = sample_delivery("track")
    # The same delivery as parsed from differently spaced and ordered JSON.
    again = json.loads(json.dumps(dict(reversed(delivery.items())), indent=4))

    assert box.store(delivery) is True
    assert box.store(again) is False
    assert box.store(delivery) is False

    assert any_inbox.rows() == [("API_TRACK", "pending", 0, 3, None)]


def test_different_deliveries_get_different_keys():
    ids = {news_key(sample_delivery(e.value)) for e in catalog.EVENTS}
    ids |= {news_key(track(code)) for code in catalog.STATUS_CODES}

    assert len(ids) == len(catalog.EVENTS) + len(catalog.STATUS_CODES)


def test_the_worker_dispatches_every_event_to_its_handler_once(box):
    for event in catalog.EVENTS:
        box.store(sample_delivery(event.value))
        box.store(sample_delivery(event.value))  # each one delivered twice
    seen, handlers = recorder()

    assert drain(box, handlers) == len(catalog.EVENTS)

    assert seen == [sample_delivery(e.value) for e in catalog.EVENTS]
    assert box.counts() == {"done": len(catalog.EVENTS)}
    assert drain(box, handlers) == 0


def test_a_tracking_update_after_processing_is_not_processed_again(
    any_inbox, box
):
    seen, handlers = recorder()
    box.store(track("DE"))
    drain(box, handlers)

    assert box.store(track("DE")) is False
    assert drain(box, handlers) == 0
    assert seen == [track("DE")]
    assert any_inbox.rows() == [("API_TRACK", "done", 1, 2, None)]


def test_every_event_has_a_default_handler():
    assert set(HANDLERS) == {e.resource_type for e in catalog.EVENTS}


@pytest.mark.parametrize(
    ("code", "handler"),
    [
        ("AC", "shipped"),
        ("DE", "delivered"),
        ("SP", "delivered"),
        ("AT", "needs_attention"),
        ("EX", "needs_attention"),
        ("NY", "progress"),
        ("IT", "progress"),
        ("UN", "progress"),
    ],
)
def test_tracking_updates_are_dispatched_by_status_code(
    box, monkeypatch, code, handler
):
    called = []
    for mapped, function in list(inbox.TRACKING_HANDLERS.items()):
        monkeypatch.setitem(
            inbox.TRACKING_HANDLERS,
            mapped,
            lambda data, name=function.__name__: called.append((name, data)),
        )
    monkeypatch.setattr(
        inbox, "progress", lambda data: called.append(("progress", data))
    )
    box.store(track(code))

    drain(box, HANDLERS)

    assert called == [(handler, track(code)["data"])]


def test_the_default_handlers_log_what_to_do_with_each_delivery(box, caplog):
    for event in catalog.EVENTS:
        box.store(sample_delivery(event.value))
    for code in sorted(catalog.STATUS_CODES):
        box.store(track(code, tracking_number=f"TN-{code}"))
    caplog.set_level(logging.INFO, logger="webhooks")

    drain(box, HANDLERS)

    assert box.counts() == {
        "done": len(catalog.EVENTS) + len(catalog.STATUS_CODES)
    }
    text = caplog.text
    for event in catalog.EVENTS:
        if event.value != "track":
            assert sample_delivery(event.value)["resource_url"] in text
    assert "TN-AC accepted by the carrier" in text
    assert "TN-DE delivered" in text
    assert "TN-EX needs attention: EX" in text
    assert "TN-IT is now IT" in text


def test_a_failing_handler_is_retried_with_growing_waits_then_parked(
    any_inbox, box, clock
):
    attempts = []

    def broken(delivery):
        attempts.append(clock.now)
        raise RuntimeError("database is down")

    box.store(sample_delivery("batch"))
    handlers = {"API_BATCH": broken}

    for _ in range(MAX_ATTEMPTS):
        assert drain(box, handlers) == 1
        assert drain(box, handlers) == 0  # not again until its wait is over
        clock.now += 3600

    assert box.counts() == {"parked": 1}
    assert any_inbox.rows()[0][2:] == (
        MAX_ATTEMPTS,
        1,
        "RuntimeError: database is down",
    )
    assert len(attempts) == MAX_ATTEMPTS


def test_the_wait_before_a_retry_doubles(any_inbox, box, clock):
    box.store(sample_delivery("batch"))
    calls = Counter()

    def flaky(delivery):
        calls["n"] += 1
        if calls["n"] < 4:
            raise ConnectionError("upstream timed out")

    waits = []
    start = clock.now
    for _ in range(200):
        if drain(box, {"API_BATCH": flaky}):
            waits.append(clock.now - start)
            start = clock.now
        if box.counts() == {"done": 1}:
            break
        clock.now += 1

    assert waits == [0, 10, 20, 40]
    assert (
        any_inbox.rows()[0][4] is None
    )  # the error is cleared once it succeeds


def test_a_type_without_a_handler_is_parked_on_first_sight(
    any_inbox, box, caplog
):
    box.store(sample_delivery("report_complete"))
    box.store({"resource_url": "https://x.test/1", "resource_type": "API_NEW"})
    caplog.set_level(logging.WARNING, logger="webhooks")

    assert drain(box, {"API_NEW": lambda delivery: None}) == 2

    assert any_inbox.rows() == [
        (
            "API_REPORT_COMPLETE",
            "parked",
            1,
            1,
            "no handler for API_REPORT_COMPLETE",
        ),
        ("API_NEW", "done", 1, 1, None),
    ]
    [line] = caplog.messages
    assert line.startswith("no handler for API_REPORT_COMPLETE: delivery")


def test_a_default_handler_takes_types_without_their_own(box):
    new = {"resource_url": "https://x.test/1", "resource_type": "API_NEW"}
    box.store(new)
    box.store(sample_delivery("batch"))
    seen, handlers = recorder()
    defaulted = []

    while inbox.process_one(box, handlers, default=defaulted.append):
        pass

    assert (seen, defaulted) == ([sample_delivery("batch")], [new])
    assert box.counts() == {"done": 2}


def test_a_worker_that_dies_mid_delivery_loses_nothing(any_inbox, box, clock):
    box.store(sample_delivery("carrier_connected"))
    box.store(sample_delivery("batch"))

    # The first worker claims a delivery, then its process dies before
    # finishing.
    _, taken = box.claim()
    assert taken == sample_delivery("carrier_connected")

    seen, handlers = recorder()
    restarted = any_inbox.open(clock=clock)
    assert (
        drain(restarted, handlers) == 1
    )  # the other one; the claim still holds
    clock.now += inbox.LEASE

    assert drain(restarted, handlers) == 1  # the lease ran out: taken over
    assert [d["resource_type"] for d in seen] == [
        "API_BATCH",
        "API_CARRIER_CONNECTED",
    ]
    assert restarted.counts() == {"done": 2}


def test_threads_storing_at_once_keep_each_delivery_once(box):
    deliveries = [track("IT", f"TN{n:04d}") for n in range(60)]
    results: list[bool] = []
    lock = threading.Lock()

    def send(batch):
        for delivery in batch:
            stored = box.store(delivery)
            with lock:
                results.append(stored)

    threads = [
        threading.Thread(target=send, args=(deliveries,)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count(True) == len(deliveries)
    assert len(results) == 4 * len(deliveries)
    seen, handlers = recorder()
    drain(box, handlers)
    assert sorted(d["data"]["tracking_number"] for d in seen) == [
        f"TN{n:04d}" for n in range(60)
    ]


def test_work_drains_then_rests_when_the_inbox_is_empty(box):
    box.store(sample_delivery("batch"))
    seen, handlers = recorder()
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            box.store(
                sample_delivery("rate")
            )  # arrives while the worker rests
        if len(naps) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        work(box, handlers, idle=0.5, sleep=sleep)

    assert naps == [0.5, 0.5, 0.5]
    assert [d["resource_type"] for d in seen] == ["API_BATCH", "API_RATE"]


def in_the_environment(any_inbox, monkeypatch) -> None:
    """Name ``any_inbox`` in the variables ``open_inbox()`` reads."""
    monkeypatch.delenv(inbox.INBOX_URL_ENV, raising=False)
    for name, value in any_inbox.env.items():
        monkeypatch.setenv(name, value)


def test_running_the_module_works_the_inbox_until_ctrl_c(
    any_inbox, monkeypatch, run_main, caplog
):
    in_the_environment(any_inbox, monkeypatch)
    any_inbox.open().store(sample_delivery("batch"))

    def interrupt(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", interrupt)
    monkeypatch.setattr(sys, "argv", ["inbox"])
    caplog.set_level(logging.INFO, logger="webhooks")

    run_main("snippets.inbox")

    assert any_inbox.open().counts() == {"done": 1}
    where = (
        any_inbox.location if any_inbox.kind == "sqlite" else "the database"
    )
    assert f"worker stopped; what is pending stays in {where}" in caplog.text


@pytest.mark.parametrize(
    "command", [["status"], ["requeue"], ["bogus"], []], ids=repr
)
def test_running_the_module_closes_the_inbox_when_it_ends(
    any_inbox, monkeypatch, run_main, command
):
    """However the command ends (done, a usage error, Ctrl-C), it leaves no
    connection open on the inbox behind it."""
    in_the_environment(any_inbox, monkeypatch)
    any_inbox.open().close()  # the table, before the count
    assert any_inbox.connections() == 0

    def interrupt(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", interrupt)
    monkeypatch.setattr(sys, "argv", ["inbox", *command])

    with contextlib.suppress(SystemExit):
        run_main("snippets.inbox")

    assert any_inbox.connections() == 0


def test_running_the_module_with_status_prints_the_counts(
    any_inbox, monkeypatch, run_main, capsys
):
    in_the_environment(any_inbox, monkeypatch)
    any_inbox.open().store(sample_delivery("batch"))
    monkeypatch.setattr(sys, "argv", ["inbox", "status"])

    run_main("snippets.inbox")

    assert json.loads(capsys.readouterr().out) == {"pending": 1}


def test_the_default_path_is_a_file_in_the_working_directory(monkeypatch):
    monkeypatch.delenv("YOURSTORE_INBOX_PATH", raising=False)
    monkeypatch.delitem(sys.modules, "snippets.inbox")

    namespace = runpy.run_module("snippets.inbox", run_name="fresh_import")

    assert namespace["INBOX_PATH"] == "webhook-inbox.sqlite3"


def test_running_the_module_with_requeue_revives_the_parked(
    any_inbox, box, clock, monkeypatch, run_main, capsys
):
    in_the_environment(any_inbox, monkeypatch)
    box.store(sample_delivery("batch"))
    for _ in range(MAX_ATTEMPTS):
        box.failed(box.claim()[0], RuntimeError("bug in the handler"))
        clock.now += 3600  # every wait is over
    box.store(sample_delivery("rate"))
    assert box.counts() == {"parked": 1, "pending": 1}
    monkeypatch.setattr(sys, "argv", ["inbox", "requeue"])

    run_main("snippets.inbox")

    assert capsys.readouterr().out == "1 parked deliveries queued again\n"
    assert box.counts() == {"pending": 2}
    assert [row[2] for row in any_inbox.rows()] == [
        0,
        0,
    ]  # a fresh set of attempts


@pytest.mark.parametrize("event", [e.value for e in catalog.EVENTS])
def test_every_sample_delivery_is_a_delivery(event):
    assert inbox.is_delivery(sample_delivery(event))


def test_a_new_event_type_is_still_a_delivery():
    assert inbox.is_delivery(
        {"resource_url": "https://x.test/1", "resource_type": "NEW"}
    )


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "API_BATCH",
        None,
        {"resource_type": "API_BATCH"},
        {"resource_url": "https://x.test/1"},
        {"resource_url": 1, "resource_type": "API_BATCH"},
        {"resource_url": "https://x.test/1", "resource_type": ["API_BATCH"]},
        {"resource_url": "https://x.test/1", "resource_type": "API_TRACK"},
        {"resource_url": "u", "resource_type": "API_TRACK", "data": []},
        {
            "resource_url": "u",
            "resource_type": "API_TRACK",
            "data": {"status_code": "DE"},
        },
        {
            "resource_url": "u",
            "resource_type": "API_TRACK",
            "data": {"tracking_number": "1Z", "status_code": None},
        },
    ],
)
def test_what_the_worker_could_not_dispatch_is_not_a_delivery(payload):
    assert not inbox.is_delivery(payload)


# ------------------------------------------------------------ the dedupe rule
def test_the_events_that_carry_their_news_are_those_with_data():
    """FULL_EVENTS follows the schemas: only a body with ``data`` carries
    the news itself; every other event only names a resource."""
    with_data = {
        e.resource_type
        for e in catalog.EVENTS
        if "data" in schemas.DELIVERIES[e.value]["properties"]
    }

    assert inbox.FULL_EVENTS == with_data == {"API_TRACK"}


@pytest.mark.parametrize(
    "event", [e.value for e in catalog.EVENTS if e.value != "track"]
)
def test_a_thin_repeat_that_arrives_while_its_twin_waits_is_merged(
    any_inbox, box, event
):
    seen, handlers = recorder()

    assert box.store(sample_delivery(event)) is True
    assert box.store(sample_delivery(event)) is False

    assert drain(box, handlers) == 1
    assert seen == [sample_delivery(event)]
    assert [row[3] for row in any_inbox.rows()] == [2]  # received twice


@pytest.mark.parametrize(
    "event", [e.value for e in catalog.EVENTS if e.value != "track"]
)
def test_a_thin_repeat_after_its_twin_is_done_is_processed_again(box, event):
    seen, handlers = recorder()
    box.store(sample_delivery(event))
    drain(box, handlers)

    assert box.store(sample_delivery(event)) is True
    assert drain(box, handlers) == 1

    assert seen == [sample_delivery(event)] * 2
    assert box.counts() == {"done": 2}


def test_a_thin_repeat_while_its_twin_is_being_processed_is_kept(
    any_inbox, box
):
    """The handler may have fetched the resource before the change the
    repeat announces: the repeat must be processed after it."""
    rate = sample_delivery("rate")
    box.store(rate)
    seen = []

    def fetch(delivery):
        seen.append(delivery)
        if len(seen) == 1:  # the platform sends news while we fetch
            assert box.store(rate) is True
            assert box.store(rate) is False  # and again: that one waits

    assert drain(box, {"API_RATE": fetch}) == 2

    assert seen == [rate, rate]
    assert [row[1:4] for row in any_inbox.rows()] == [
        ("done", 1, 1),
        ("done", 1, 2),
    ]


def test_a_tracking_update_while_its_twin_is_being_processed_is_not_kept(
    box,
):
    update = track("IT")
    box.store(update)
    seen = []

    def handle(delivery):
        seen.append(delivery)
        assert box.store(update) is False  # the same news, already here

    drain(box, {"API_TRACK": handle})

    assert seen == [update]
    assert drain(box, {"API_TRACK": handle}) == 0


def test_a_thin_repeat_while_its_twin_waits_for_a_retry_is_kept(box, clock):
    box.store(sample_delivery("batch"))

    def broken(delivery):
        raise ConnectionError("the API is down")

    drain(box, {"API_BATCH": broken})  # claimed once, failed: waits 10 s
    assert box.store(sample_delivery("batch")) is True
    clock.now += 10
    seen, handlers = recorder()

    assert drain(box, handlers) == 2

    assert seen == [sample_delivery("batch")] * 2


def test_a_tracking_update_for_a_parked_twin_joins_it(any_inbox, box):
    box.store(track("EX"))
    key, _ = box.claim()
    box.park(key, "a person should look")

    assert box.store(track("EX")) is False

    assert any_inbox.rows() == [
        ("API_TRACK", "parked", 1, 2, "a person should look")
    ]


# ----------------------------------------------------------------- retention
def test_done_deliveries_are_pruned_after_the_retention_age(any_inbox, clock):
    box = any_inbox.open(clock=clock, keep_done_days=2)
    _, handlers = recorder()
    box.store(track("DE", "OLD"))
    box.store(sample_delivery("batch"))
    drain(box, handlers)
    clock.now += 86400
    box.store(track("DE", "NEWER"))
    drain(box, handlers)
    box.store(track("EX", "PARKED"))
    box.park(box.claim()[0], "looked at later")
    box.store(track("IT", "WAITING"))
    clock.now += 86400 + 1  # the first two are more than two days done

    assert box.prune() == 2

    kept = {
        json.loads(body)["data"]["tracking_number"]: state
        for body, state in any_inbox.query(
            "SELECT body::text, state FROM deliveries"
            if any_inbox.kind == "postgresql"
            else "SELECT body, state FROM deliveries"
        )
    }
    assert kept == {"NEWER": "done", "WAITING": "pending", "PARKED": "parked"}
    # The rule holds for what is kept: NEWER is still a known repeat; OLD,
    # forgotten, would be processed again (the platform stopped retrying
    # long before).
    assert box.store(track("DE", "NEWER")) is False
    assert box.store(track("DE", "OLD")) is True


def test_the_retention_age_defaults_to_keep_done_days(box):
    assert box.keep_done == inbox.KEEP_DONE_DAYS * 86400
    assert inbox.KEEP_DONE_DAYS * 86400 > 2 * inbox.LEASE


def test_the_worker_prunes_when_the_inbox_is_empty(any_inbox, clock):
    box = any_inbox.open(clock=clock, keep_done_days=1)
    box.store(sample_delivery("batch"))
    seen, handlers = recorder()

    def sleep(seconds):
        clock.now += 2 * 86400
        if box.counts() == {}:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        work(box, handlers, idle=1, sleep=sleep)

    assert seen == [sample_delivery("batch")]


# ------------------------------------------------------ what the inbox holds
_strings = st.text(max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _strings,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(_strings, inner, max_size=3)
    ),
    max_leaves=10,
)


def _storable(value) -> bool:
    """What JSON and UTF-8 can carry: finite numbers, no lone surrogates."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return all(map(_storable, value))
    if isinstance(value, dict):
        return all(map(_storable, value)) and all(
            map(_storable, value.values())
        )
    return True


_examples = itertools.count()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # one inbox for all the examples: each stores a delivery of its own
@given(value=_json, where=st.sampled_from(["top", "data", "key"]))
def test_parse_delivery_takes_exactly_what_the_inbox_can_store(
    box, value, where
):
    delivery = sample_delivery("track")
    delivery["data"]["tracking_number"] = f"TN{next(_examples)}"
    if where == "top":
        delivery["extra"] = value
    elif where == "data":
        delivery["data"]["extra"] = value
    else:
        delivery["data"][json.dumps(value, allow_nan=True)[:12]] = 1
    body = json.dumps(delivery, allow_nan=True).encode(
        "utf-8", "surrogatepass"
    )

    if not _storable(delivery):
        with pytest.raises(ValueError, match=r"\w"):
            inbox.parse_delivery(body)
        return
    parsed = inbox.parse_delivery(body)
    assert box.store(parsed) is True
    key, claimed = box.claim()
    box.done(key)
    assert claimed == json.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": NaN}',
        b'{"a": [Infinity]}',
        b'{"a": {"b": -Infinity}}',
        b'{"a": 1e999}',
        b'{"a": -1e400}',
        b'{"\\ud800": 1}',
        b'{"a": "\\udfff"}',
        b'["x\\ud83d"]',
        b'{"a": "\\ude00\\ud83d"}',  # a pair in the wrong order
        b"[" * 33 + b"]" * 33,
        b'{"a":' * 40 + b"1" + b"}" * 40,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": 1',
        b"\xff",
        b"1" * 5000,
    ],
)
def test_parse_delivery_refuses_what_cannot_be_stored_as_it_is(body):
    with pytest.raises(ValueError, match=r"\w"):
        inbox.parse_delivery(body)


def test_parse_delivery_takes_a_surrogate_pair_and_32_levels():
    assert inbox.parse_delivery(b'["\\ud83d\\ude00"]') == ["\U0001f600"]
    deep = b"[" * 32 + b"]" * 32
    assert inbox.parse_delivery(deep) == json.loads(deep)


def test_status_with_a_folder_that_does_not_exist_says_so_in_one_line(
    tmp_path, monkeypatch, run_main
):
    path = tmp_path / "no" / "such" / "inbox.sqlite3"
    monkeypatch.setenv("YOURSTORE_INBOX_PATH", str(path))
    monkeypatch.setattr(sys, "argv", ["inbox", "status"])

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.inbox")

    message = exited.value.code  # Python prints it to stderr, exit status 1
    assert isinstance(message, str)
    assert "\n" not in message
    assert message.startswith(f"no folder {path.parent} for the inbox")
    assert not path.parent.exists()


# ------------------------------------------- the contract, across processes
def test_two_receivers_storing_the_same_news_keep_one_row(any_inbox, clock):
    first, second = any_inbox.open(clock=clock), any_inbox.open(clock=clock)

    assert first.store(track("IT")) is True
    assert second.store(track("IT")) is False
    assert second.store(sample_delivery("rate")) is True
    assert first.store(sample_delivery("rate")) is False

    assert [row[3] for row in any_inbox.rows()] == [2, 2]


def test_workers_in_threads_take_each_delivery_once(any_inbox):
    deliveries = [track("IT", f"TN{n:04d}") for n in range(120)]
    deliveries += [
        {"resource_url": f"https://x.test/{n}", "resource_type": "API_RATE"}
        for n in range(40)
    ]
    receiver = any_inbox.open()
    for delivery in deliveries:
        receiver.store(delivery)
    seen: list[str] = []
    lock = threading.Lock()

    def record(delivery):
        with lock:
            seen.append(news_key(delivery))

    workers = [
        threading.Thread(
            target=drain,
            args=(any_inbox.open(), dict.fromkeys(HANDLERS, record)),
        )
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert sorted(seen) == sorted(news_key(d) for d in deliveries)
    assert receiver.counts() == {"done": len(deliveries)}


def test_a_worker_killed_mid_delivery_hands_it_back_when_its_lease_ends(
    any_inbox,
):
    """A worker process claims a delivery and is killed (``kill -9``) in
    the middle of it; another takes it over once the lease runs out, and
    not before."""
    lease = 0.5
    receiver = any_inbox.open()
    receiver.store(sample_delivery("carrier_connected"))
    receiver.store(sample_delivery("batch"))
    worker = start_worker(any_inbox, "hang", f"--lease={lease}")
    with stopped_at_end([worker]):
        claimed = json.loads(worker.stdout.readline())
        worker.kill()  # SIGKILL: no handler, no cleanup; the claim stays
    handled: dict[str, float] = {}

    def handle(delivery):
        handled[delivery["resource_type"]] = time.time()

    taken_over = any_inbox.open(lease=lease)
    while len(handled) < 2:
        assert time.time() < claimed["before"] + 60, "never taken over"
        drain(taken_over, dict.fromkeys(HANDLERS, handle))
        time.sleep(0.05)

    assert (
        claimed["key"]
        == any_inbox.query(
            "SELECT id FROM deliveries WHERE resource_type = 'API_CARRIER_CONNECTED'"
        )[0][0]
    )
    assert handled["API_CARRIER_CONNECTED"] >= claimed["before"] + lease
    assert sorted(any_inbox.rows()) == [
        ("API_BATCH", "done", 1, 1, None),
        ("API_CARRIER_CONNECTED", "done", 2, 1, None),  # tried twice
    ]


def test_a_closed_inbox_refuses_deliveries_as_unavailable(box):
    box.close()

    with pytest.raises(inbox.InboxUnavailableError, match=r"\w"):
        box.store(sample_delivery("batch"))


def test_a_type_holding_a_nul_is_stored_parked_and_named(any_inbox, box):
    """JSON strings may carry U+0000, which PostgreSQL's text cannot hold:
    the inbox still stores the delivery as signed, and parks it with its
    name written out."""
    odd = {"resource_url": "https://x.test/\u0000", "resource_type": "A\u0000"}

    assert box.store(odd) is True
    assert drain(box, HANDLERS) == 1

    [(kind, state, _, _, error)] = any_inbox.rows()
    assert state == "parked"
    assert kind in ("A\u0000", "A\\u0000")
    assert error.startswith("no handler for A")
    box.requeue_parked()
    assert box.claim()[1] == odd


def test_open_inbox_opens_the_inbox_the_environment_names(
    any_inbox, monkeypatch
):
    in_the_environment(any_inbox, monkeypatch)
    monkeypatch.setattr(
        inbox,
        "INBOX_PATH",
        any_inbox.env.get("YOURSTORE_INBOX_PATH", inbox.INBOX_PATH),
    )

    opened = inbox.open_inbox()
    any_inbox.opened.append(opened)
    opened.store(sample_delivery("batch"))

    expected = Inbox if any_inbox.kind == "sqlite" else PostgresInbox
    assert type(opened) is expected
    assert any_inbox.rows() == [("API_BATCH", "pending", 0, 1, None)]


@pytest.mark.parametrize("value", ["mysql://db/inbox", "inbox.sqlite3"])
def test_a_url_that_is_not_postgresql_keeps_the_sqlite_file(
    tmp_path, monkeypatch, caplog, value
):
    monkeypatch.setenv(inbox.INBOX_URL_ENV, value)
    monkeypatch.setattr(inbox, "INBOX_PATH", str(tmp_path / "i.sqlite3"))

    opened = inbox.open_inbox()
    opened.close()

    assert type(opened) is Inbox
    assert f"{inbox.INBOX_URL_ENV} is not a postgresql:// URL" in caplog.text


# ----------------------------------------------------------------------- load
@pytest.mark.load
def test_two_receivers_and_four_workers_lose_nothing_through_a_kill(
    any_inbox, signer, tmp_path, built_site
):
    """1,000 signed deliveries (a fifth of them sent twice, shuffled) through
    two receivers under their production commands, behind a balancer that
    fails over; four worker processes; one receiver ``kill -9``-ed mid-run
    and restarted. Nothing is lost, and a repeat is processed again only
    where the rule for repeats says so."""
    deliveries = load_deliveries(distinct=1000, thin_share=0.3)
    rng = random.Random(14)
    copies = list(range(len(deliveries))) + rng.sample(range(1000), 200)
    rng.shuffle(copies)
    bodies = [json.dumps(d).encode() for d in deliveries]
    signed = [(bodies[n], signer.headers(bodies[n])) for n in copies]
    processed_file = tmp_path / "processed"
    fake = FakeApi()
    fake.jwks = json.loads(signer.jwks_path.read_text())
    any_inbox.open().close()  # the table, before anything races for it

    with LiveServer(fake.wsgi_app) as keys, contextlib.ExitStack() as stack:
        receivers = []
        for kind in ("flask", "fastapi"):
            folder = tmp_path / kind  # the receiver's download, alone
            # with inbox_postgres.py beside it when that is the inbox, as
            # the page says
            extra = ["inbox_postgres.py"] if any_inbox.kind != "sqlite" else []
            Reader(built_site, folder).download(f"receive_{kind}.py", *extra)
            server = production.ProductionServer(
                kind, Path(any_inbox.location), keys.url, folder
            )
            server.env.pop(inbox.INBOX_URL_ENV, None)
            server.env.update(any_inbox.env)
            server.start()
            stack.callback(server.stop)
            receivers.append(server)
        for server in receivers:
            server.ready()
        workers = [
            start_worker(any_inbox, "work", f"--processed={processed_file}")
            for _ in range(4)
        ]
        stack.enter_context(stopped_at_end(workers))
        victim = receivers[0]
        killed = threading.Event()
        once = threading.Lock()

        def kill_mid_run(answered: int) -> None:
            if answered < len(signed) // 2:
                return
            with once:
                if killed.is_set():
                    return
                killed.set()
            victim.kill()  # kill -9, master and workers
            victim.start()

        sent = send_through([r.url for r in receivers], signed, kill_mid_run)
        box = any_inbox.open()
        deadline = time.monotonic() + 300
        while set(box.counts()) != {"done"}:
            assert time.monotonic() < deadline, box.counts()
            time.sleep(0.2)

    processed = Counter(processed_file.read_text().split())
    rows = any_inbox.ledger()
    thin_again = sum(processed[r.key] > 1 for r in rows if not r.carries_news)
    print(
        f"\n{any_inbox.kind}: {len(deliveries)} deliveries, {len(signed)} sent"
        f" in {sent.seconds:.1f} s, answers {dict(sent.statuses)},"
        f" {sent.failovers} failed over; {len(rows)} rows,"
        f" {sum(processed.values())} processed, thin repeats processed"
        f" again: {thin_again}"
    )
    assert killed.is_set()
    assert sent.statuses[204] == len(signed)
    assert rule_problems(deliveries, rows, processed, sent.answered) == []
    assert sum(r.times_received for r in rows) >= len(signed)


def test_postgresql_named_without_its_driver_is_an_unavailable_inbox(
    monkeypatch,
):
    monkeypatch.setenv(inbox.INBOX_URL_ENV, "postgresql://db.internal/x")
    monkeypatch.setitem(sys.modules, "snippets.inbox_postgres", None)

    with pytest.raises(inbox.InboxUnavailableError, match="requirements"):
        inbox.open_inbox()


def test_the_worker_says_in_one_line_that_it_cannot_reach_the_database(
    postgres_cluster, monkeypatch, run_main
):
    missing = postgres_cluster.url("no_such_database")
    monkeypatch.setenv(inbox.INBOX_URL_ENV, missing)
    monkeypatch.setattr(sys, "argv", ["inbox", "status"])

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.inbox")

    message = exited.value.code
    assert message.startswith("the inbox cannot be opened: ")
    assert "no_such_database" in message
    assert "\n" not in message


def test_running_the_module_with_an_unknown_command_shows_the_usage(
    tmp_path, monkeypatch, run_main
):
    monkeypatch.setenv("YOURSTORE_INBOX_PATH", str(tmp_path / "u.sqlite3"))
    monkeypatch.setattr(sys, "argv", ["inbox", "statsu"])

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.inbox")

    assert exited.value.code == "usage: python inbox.py [status | requeue]"
