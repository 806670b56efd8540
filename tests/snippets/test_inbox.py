"""Tests for snippets/inbox.py (page: docs/inbox.md)."""

import json
import logging
import runpy
import sqlite3
import sys
import threading
from collections import Counter

import pytest

from snippets import catalog, inbox
from snippets.inbox import (
    HANDLERS,
    MAX_ATTEMPTS,
    Inbox,
    delivery_id,
    drain,
    work,
)
from snippets.payloads import sample_delivery


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def box(tmp_path, clock):
    opened = Inbox(str(tmp_path / "inbox.sqlite3"), clock=clock)
    yield opened
    opened.close()


def track(status_code: str, tracking_number: str = "1Z999") -> dict:
    delivery = sample_delivery("track")
    delivery["data"]["status_code"] = status_code
    delivery["data"]["tracking_number"] = tracking_number
    return delivery


def recorder():
    """Handlers for every event that record what they were given."""
    seen: list[dict] = []
    return seen, {e.resource_type: seen.append for e in catalog.EVENTS}


def rows(box: Inbox) -> list[tuple]:
    with sqlite3.connect(box.path) as db:
        return db.execute(
            "SELECT resource_type, state, attempts, times_received, last_error"
            " FROM inbox ORDER BY received_at"
        ).fetchall()


def test_a_stored_delivery_is_on_disk_for_the_next_process(box, clock):
    assert box.store(sample_delivery("batch")) is True

    reopened = Inbox(
        box.path, clock=clock
    )  # as a restarted receiver or worker would

    assert reopened.counts() == {"pending": 1}
    assert reopened.claim() == (
        delivery_id(sample_delivery("batch")),
        sample_delivery("batch"),
    )


def test_a_redelivery_is_recognised_and_counted_not_stored_twice(box):
    delivery = sample_delivery("track")
    # The same delivery as parsed from differently spaced and ordered JSON.
    again = json.loads(json.dumps(dict(reversed(delivery.items())), indent=4))

    assert box.store(delivery) is True
    assert box.store(again) is False
    assert box.store(delivery) is False

    assert rows(box) == [("API_TRACK", "pending", 0, 3, None)]


def test_different_deliveries_get_different_ids():
    ids = {delivery_id(sample_delivery(e.value)) for e in catalog.EVENTS}
    ids |= {delivery_id(track(code)) for code in catalog.STATUS_CODES}

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


def test_a_redelivery_after_processing_is_not_processed_again(box):
    seen, handlers = recorder()
    box.store(sample_delivery("rate"))
    drain(box, handlers)

    assert box.store(sample_delivery("rate")) is False
    assert drain(box, handlers) == 0
    assert len(seen) == 1


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
    box, clock
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

    assert box.counts() == {"dead": 1}
    assert rows(box)[0][2:] == (
        MAX_ATTEMPTS,
        1,
        "RuntimeError: database is down",
    )
    assert len(attempts) == MAX_ATTEMPTS


def test_the_wait_before_a_retry_doubles(box, clock):
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
    assert rows(box)[0][4] is None  # the error is cleared once it succeeds


def test_a_delivery_for_an_event_without_a_handler_is_kept_for_retry(box):
    box.store(sample_delivery("report_complete"))

    drain(box, {})

    assert rows(box) == [
        (
            "API_REPORT_COMPLETE",
            "pending",
            1,
            1,
            "KeyError: 'API_REPORT_COMPLETE'",
        )
    ]


def test_a_worker_that_dies_mid_delivery_loses_nothing(box, clock):
    box.store(sample_delivery("carrier_connected"))
    box.store(sample_delivery("batch"))

    # The first worker claims a delivery, then its process dies before
    # finishing.
    key, _ = box.claim()
    assert key == delivery_id(sample_delivery("carrier_connected"))

    seen, handlers = recorder()
    restarted = Inbox(box.path, clock=clock)
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


def test_running_the_module_works_the_inbox_until_ctrl_c(
    tmp_path, monkeypatch, run_main, caplog
):
    path = tmp_path / "worker.sqlite3"
    monkeypatch.setenv("YOURSTORE_INBOX_PATH", str(path))
    Inbox(str(path)).store(sample_delivery("batch"))

    def interrupt(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", interrupt)
    monkeypatch.setattr(sys, "argv", ["inbox"])
    caplog.set_level(logging.INFO, logger="webhooks")

    run_main("snippets.inbox")

    assert Inbox(str(path)).counts() == {"done": 1}
    assert f"worker stopped; what is pending stays in {path}" in caplog.text


def test_running_the_module_with_status_prints_the_counts(
    tmp_path, monkeypatch, run_main, capsys
):
    path = tmp_path / "status.sqlite3"
    monkeypatch.setenv("YOURSTORE_INBOX_PATH", str(path))
    Inbox(str(path)).store(sample_delivery("batch"))
    monkeypatch.setattr(sys, "argv", ["inbox", "status"])

    run_main("snippets.inbox")

    assert json.loads(capsys.readouterr().out) == {"pending": 1}


def test_the_default_path_is_a_file_in_the_working_directory(monkeypatch):
    monkeypatch.delenv("YOURSTORE_INBOX_PATH", raising=False)
    monkeypatch.delitem(sys.modules, "snippets.inbox")

    namespace = runpy.run_module("snippets.inbox", run_name="fresh_import")

    assert namespace["INBOX_PATH"] == "webhook-inbox.sqlite3"


def test_running_the_module_with_requeue_revives_the_dead(
    tmp_path, monkeypatch, run_main, capsys
):
    path = tmp_path / "dead.sqlite3"
    monkeypatch.setenv("YOURSTORE_INBOX_PATH", str(path))
    clock = Clock()
    box = Inbox(str(path), clock=clock)
    box.store(sample_delivery("batch"))
    for _ in range(MAX_ATTEMPTS):
        box.failed(box.claim()[0], RuntimeError("bug in the handler"))
        clock.now += 3600  # every wait is over
    box.store(sample_delivery("rate"))
    assert box.counts() == {"dead": 1, "pending": 1}
    monkeypatch.setattr(sys, "argv", ["inbox", "requeue"])

    run_main("snippets.inbox")

    assert capsys.readouterr().out == "1 dead deliveries queued again\n"
    assert box.counts() == {"pending": 2}
    assert [row[2] for row in rows(box)] == [0, 0]  # a fresh set of attempts
    box.close()


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
