"""Tests for snippets/reconcile.py (page: docs/troubleshooting.md)."""

import sqlite3

import pytest

from snippets import inbox, payloads
from snippets.client import ApiError, api_session
from snippets.delivery_semantics import SHIPMENTS, handle_tracking_update
from snippets.reconcile import as_delivery, catch_up
from tests.support.fake_api import Shipment, sample_shipment

PACKAGE = ("usps", payloads.TRACK_DATA["tracking_number"])


@pytest.fixture
def box(tmp_path):
    opened = inbox.Inbox(str(tmp_path / "inbox.sqlite3"))
    yield opened
    opened.close()


def test_a_missed_update_is_caught_up_and_processed_once(fake_api, box):
    fake_api.add_shipment(sample_shipment())
    db = sqlite3.connect(":memory:")
    db.execute(SHIPMENTS)
    told = []

    def handler(delivery):
        handle_tracking_update(
            db, delivery, lambda *change: told.append(change)
        )

    first = catch_up(api_session(), box, [PACKAGE])
    again = catch_up(api_session(), box, [PACKAGE])  # run twice by mistake
    inbox.drain(box, {"API_TRACK": handler})

    assert (first, again) == (1, 0)
    assert told == [(PACKAGE[1], "DE")]
    assert box.counts() == {"done": 1}


def test_an_update_already_applied_changes_nothing(fake_api, box):
    fake_api.add_shipment(sample_shipment())
    db = sqlite3.connect(":memory:")
    db.execute(SHIPMENTS)
    told = []

    def handler(delivery):
        handle_tracking_update(
            db, delivery, lambda *change: told.append(change)
        )

    box.store(payloads.sample_delivery("track"))  # it did arrive after all
    catch_up(api_session(), box, [PACKAGE])
    inbox.drain(box, {"API_TRACK": handler})

    assert told == [(PACKAGE[1], "DE")]  # once, though processed twice


def test_the_delivery_is_one_the_receivers_accept():
    tracking = {
        "carrier_code": "usps",
        "tracking_number": "1",
        "status_code": "IT",
    }

    delivery = as_delivery(tracking)

    assert inbox.is_delivery(delivery)
    assert delivery["resource_url"].endswith(
        "/v1/tracking?carrier_code=usps&tracking_number=1"
    )


def test_an_unknown_package_is_the_api_s_404(fake_api, box):
    with pytest.raises(ApiError) as raised:
        catch_up(api_session(), box, [("usps", "0000")])

    assert raised.value.status == 404
    assert box.counts() == {}


def test_the_download_catches_up_as_the_page_says(reader, api_env, http_api):
    reader.download("reconcile.py")
    http_api.add_shipment(sample_shipment())
    http_api.add_shipment(Shipment("ups", "1Z", None, None, []))
    env = {**api_env, "YOURSTORE_INBOX_PATH": "inbox.sqlite3"}

    answer = reader.run(
        "reconcile.py", env=env, stdin="usps 9405511899223197428490\nups 1Z\n"
    )
    broken = reader.run("reconcile.py", env=env, stdin="usps\n")

    assert answer.stdout == "2 of 2 package(s) stored for the worker.\n", (
        answer.stderr
    )
    stored = inbox.Inbox(str(reader.folder / "inbox.sqlite3"))
    assert stored.counts() == {"pending": 2}
    stored.close()
    assert broken.stderr == "each line: a carrier code and a tracking number\n"


def test_running_the_module_reports_a_refusal_in_one_line(
    fake_api, monkeypatch, run_main, tmp_path
):
    monkeypatch.setenv("YOURSTORE_INBOX_PATH", str(tmp_path / "i.sqlite3"))
    monkeypatch.setattr(inbox, "INBOX_PATH", str(tmp_path / "i.sqlite3"))
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("usps 404\n"))

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.reconcile")

    assert str(exited.value.code).startswith("Stopped: 404 not_found")


def test_running_the_module_refuses_a_malformed_line(monkeypatch, run_main):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("usps\n"))

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.reconcile")

    assert exited.value.code == (
        "each line: a carrier code and a tracking number"
    )


def test_running_the_module_reports_what_it_stored(
    fake_api, monkeypatch, run_main, tmp_path, capsys
):
    monkeypatch.setattr(inbox, "INBOX_PATH", str(tmp_path / "i.sqlite3"))
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(""))

    run_main("snippets.reconcile")

    assert (
        capsys.readouterr().out == "0 of 0 package(s) stored for the worker.\n"
    )
