"""Tests for snippets/webhooks_vs_apis.py (page: docs/webhooks-vs-apis.md)."""

import logging
import re
import sys
from pathlib import Path

import pytest
import requests

from snippets import payloads
from snippets.client import ApiError, api_session
from snippets.webhooks_vs_apis import app, poll_tracking
from tests.support.fake_api import Shipment
from tests.support.paths import ROOT
from tests.support.reader import free_port

HOUR = 3600


def _scan(at_hours: float, code: str, description: str) -> dict:
    return {
        "at": at_hours * HOUR,
        "occurred_at": f"2026-11-{24 + int(at_hours // 24):02d}T"
        f"{int(at_hours % 24):02d}:00:00Z",
        "description": description,
        "city_locality": "AUSTIN",
        "state_province": "TX",
        "postal_code": "78756",
        "country_code": "US",
        "status_code": code,
        "carrier_status_code": code.lower(),
    }


PARCEL = Shipment(
    carrier_code="usps",
    tracking_number="9405511899223197428490",
    ship_date="2026-11-24T00:00:00Z",
    estimated_delivery_date="2026-11-27T00:00:00Z",
    events=[
        _scan(2, "AC", "Accepted at origin facility"),
        _scan(9, "IT", "Departed origin facility"),
        _scan(31, "IT", "Arrived at regional hub"),
        _scan(50, "IT", "Out for delivery"),
        _scan(57, "DE", "Delivered, In/At Mailbox"),
    ],
)


def _documented_figures() -> tuple[int, int]:
    page = (ROOT / "docs" / "webhooks-vs-apis.md").read_text()
    match = re.search(r"takes (\d+) calls, and (\d+) of them answer", page)
    assert match, "the page no longer states the polling figures"
    return int(match.group(1)), int(match.group(2))


def test_polling_one_parcel_costs_what_the_page_says(fake_api):
    fake_api.add_shipment(PARCEL)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        fake_api.advance(seconds)

    result = poll_tracking(
        api_session(), "usps", PARCEL.tracking_number, sleep=sleep
    )

    assert result.tracking["status_code"] == "DE"
    assert len(result.tracking["events"]) == len(PARCEL.events)
    # 57 hours at one poll every 15 minutes, plus the first call.
    assert result.calls == 57 * 4 + 1
    # Each scan and the first answer are news; every other answer is not.
    assert result.no_update == result.calls - len(PARCEL.events) - 1
    assert (result.calls, result.no_update) == _documented_figures()
    assert sleeps == [15 * 60] * (result.calls - 1)
    assert len(fake_api.calls) == result.calls


def test_polling_stops_at_max_calls(fake_api):
    fake_api.add_shipment(PARCEL)

    result = poll_tracking(
        api_session(),
        "usps",
        PARCEL.tracking_number,
        max_calls=3,
        sleep=lambda s: None,
    )

    assert (result.calls, result.no_update) == (3, 2)
    assert result.tracking["status_code"] == "NY"


def test_polling_an_unknown_parcel_raises_the_api_error(fake_api):
    with pytest.raises(ApiError) as raised:
        poll_tracking(api_session(), "usps", "nope", sleep=lambda s: None)

    assert (raised.value.status, raised.value.error_code) == (404, "not_found")


def test_running_the_module_polls_the_package_named(
    fake_api, run_main, capsys, monkeypatch
):
    delivered = [_scan(0, "DE", "Delivered")]
    fake_api.add_shipment(
        Shipment(
            "fedex", PARCEL.tracking_number, PARCEL.ship_date, None, delivered
        )
    )
    argv = ["webhooks_vs_apis.py", "fedex", PARCEL.tracking_number]
    monkeypatch.setattr(sys, "argv", argv)

    run_main("snippets.webhooks_vs_apis")

    assert capsys.readouterr().out == "1 calls, 0 said 'no update'\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "usage: python webhooks_vs_apis.py"),
        (["ups", "1Z"], "Polling stopped: 404"),
    ],
)
def test_running_the_module_explains_in_one_line(
    fake_api, run_main, monkeypatch, argv, message
):
    monkeypatch.setattr(sys, "argv", ["webhooks_vs_apis.py", *argv])

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.webhooks_vs_apis")

    assert str(exited.value.code).startswith(message)


def test_the_push_handler_logs_a_tracking_update(caplog):
    caplog.set_level(logging.INFO, logger="webhooks")
    delivery = payloads.sample_delivery("track")

    response = app.test_client().post("/webhooks", json=delivery)

    assert response.status_code == 204
    assert "9405511899223197428490 is now DE" in caplog.text


def test_the_push_handler_acknowledges_other_events_quietly(caplog):
    caplog.set_level(logging.INFO, logger="webhooks")

    response = app.test_client().post(
        "/webhooks", json=payloads.sample_delivery("batch")
    )

    assert response.status_code == 204
    assert caplog.text == ""


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"resource_url": "https://x.example"}']
)
def test_the_push_handler_rejects_what_is_not_a_delivery(body):
    response = app.test_client().post(
        "/webhooks", data=body, content_type="application/json"
    )

    assert response.status_code == 400


# ----------------------------------------------- the download, as a reader
def test_the_download_polls_a_delivered_package(reader, api_env, http_api):
    reader.download("webhooks_vs_apis.py")
    delivered = [_scan(0, "DE", "Delivered")]
    http_api.add_shipment(
        Shipment("usps", PARCEL.tracking_number, None, None, delivered)
    )

    answer = reader.run(
        "webhooks_vs_apis.py", "usps", PARCEL.tracking_number, env=api_env
    )

    assert answer.stdout == "1 calls, 0 said 'no update'\n", answer.stderr
    assert http_api.calls[0].query == {
        "carrier_code": ["usps"],
        "tracking_number": [PARCEL.tracking_number],
    }


def test_the_download_s_push_handler_serves_as_the_page_says(reader):
    reader.download("webhooks_vs_apis.py")
    port = free_port()
    flask = str(Path(sys.executable).with_name("flask"))

    with reader.serve(
        flask,
        "--app",
        "webhooks_vs_apis",
        "run",
        "--port",
        str(port),
        port=port,
    ) as server:
        track = requests.post(
            f"{server}/webhooks",
            json=payloads.sample_delivery("track"),
            timeout=10,
        )
        junk = requests.post(f"{server}/webhooks", data=b"x", timeout=10)

    assert (track.status_code, junk.status_code) == (204, 400)
