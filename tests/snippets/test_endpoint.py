"""Tests for snippets/endpoint.py (page: docs/endpoint.md)."""

import json
import socket
import sys

import pytest
import requests
from flask import Flask

from snippets import endpoint, payloads
from snippets.catalog import EVENTS
from tests.support.reader import free_port


@pytest.fixture
def client():
    while not endpoint.inbox.empty():
        endpoint.inbox.get_nowait()
    return endpoint.app.test_client()


@pytest.mark.parametrize("event", [e.value for e in EVENTS])
def test_every_event_is_queued_and_acknowledged_with_204(client, event):
    delivery = payloads.sample_delivery(event)

    response = client.post("/webhooks", json=delivery)

    assert (response.status_code, response.data) == (204, b"")
    assert endpoint.inbox.get_nowait() == delivery


def test_a_charset_in_the_content_type_is_fine(client):
    body = json.dumps(payloads.sample_delivery("rate"))

    response = client.post(
        "/webhooks", data=body, content_type="application/json; charset=utf-8"
    )

    assert response.status_code == 204


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"resource_type": "API_BATCH"}', "text/plain", 415),
        (b"resource_type=API_BATCH", "application/x-www-form-urlencoded", 415),
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b'"a string"', "application/json", 400),
        (
            b'{"resource_url": "https://api.example.com/x"}',
            "application/json",
            400,
        ),
        (b"\xff\xfe", "application/json", 400),
    ],
)
def test_bad_requests_get_a_4xx_and_nothing_is_queued(
    client, body, content_type, status
):
    response = client.post("/webhooks", data=body, content_type=content_type)

    assert response.status_code == status
    assert endpoint.inbox.empty()


def test_a_body_over_1_mib_is_refused_with_413(client):
    body = (
        b'{"resource_type": "API_BATCH", "pad": "'
        + b"x" * (1024 * 1024)
        + b'"}'
    )

    response = client.post(
        "/webhooks", data=body, content_type="application/json"
    )

    assert response.status_code == 413
    assert endpoint.inbox.empty()


def test_only_post_is_served(client):
    assert client.get("/webhooks").status_code == 405


def test_running_the_module_serves_on_loopback_port_5000(
    monkeypatch, run_main
):
    started = {}
    monkeypatch.setattr(Flask, "run", lambda self, **kw: started.update(kw))

    run_main("snippets.endpoint")

    assert started == {"host": "127.0.0.1", "port": 5000}


def test_the_download_serves_as_the_page_says(reader, port_5000):
    """``python endpoint.py`` (port 5000), in a folder holding the download;
    if something else holds port 5000, the same app on another port."""
    reader.download("endpoint.py")
    port = port_5000 if _free(port_5000) else free_port()
    command = (
        ["endpoint.py"]
        if port == port_5000
        else ["-c", f"import endpoint; endpoint.app.run('127.0.0.1', {port})"]
    )
    with reader.serve(sys.executable, *command, port=port) as server:
        delivery = requests.post(
            f"{server}/webhooks",
            json={"resource_type": "API_BATCH"},
            timeout=10,
        )
        deep = requests.post(
            f"{server}/webhooks",
            data=b"[" * 100_000 + b"]" * 100_000,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )

    assert (delivery.status_code, deep.status_code) == (204, 400)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
