"""Tests for snippets/move_endpoint.py (page: docs/move-endpoint.md)."""

import json
import logging
import sys
from pathlib import Path

import pytest
import requests
import requests_mock

import snippets.endpoint
from snippets import settings
from snippets.client import ApiError, api_call, api_session
from snippets.create_webhook import create_webhook
from snippets.move_endpoint import move_endpoint, relay
from snippets.payloads import sample_delivery
from tests.support.fake_api import Response
from tests.support.reader import free_port
from tests.support.servers import LiveServer

OLD = "https://old.example.com/webhooks"
NEW = "https://new.example.com/webhooks"
SIGNED = {
    settings.KEY_ID_HEADER: "key-1",
    settings.SIGNATURE_HEADER: "c2lnbmF0dXJl",
    settings.TIMESTAMP_HEADER: "2026-11-26T14:03:05Z",
}


@pytest.fixture
def session(fake_api):
    return api_session()


@pytest.fixture
def new_endpoint(monkeypatch):
    """Where the relay sends: requests-mock standing in for the new server."""
    monkeypatch.setitem(relay.config, "NEW_ENDPOINT_URL", NEW)
    with requests_mock.Mocker() as mocker:
        yield mocker


def _deliver(body: bytes, headers=SIGNED):
    """The platform delivering to the old server, where the relay runs."""
    return relay.test_client().post(
        "/webhooks",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )


# ---------------------------------------------------------------------- move
def test_move_points_every_webhook_of_the_old_url_at_the_new(
    fake_api, session
):
    track = create_webhook(session, OLD, "track")
    batch = create_webhook(session, OLD, "batch")
    other = create_webhook(
        session, "https://elsewhere.example.com/hooks", "rate"
    )

    moved = move_endpoint(session, OLD, NEW)

    assert moved == [track["webhook_id"], batch["webhook_id"]]
    assert fake_api.webhooks[track["webhook_id"]]["url"] == NEW
    assert fake_api.webhooks[batch["webhook_id"]]["url"] == NEW
    assert fake_api.webhooks[other["webhook_id"]] == other
    assert [c.method for c in fake_api.calls[3:]] == [
        "GET",
        "PUT",
        "PUT",
        "GET",
    ]


def test_move_keeps_headers_and_name(fake_api, session):
    hook = api_call(
        session,
        "POST",
        settings.WEBHOOKS_PATH,
        json={
            "url": OLD,
            "event": "track",
            "name": "tracking",
            "headers": [{"key": "X-Tenant", "value": "eu-1"}],
        },
    )

    move_endpoint(session, OLD, NEW)

    assert fake_api.webhooks[hook["webhook_id"]] == {**hook, "url": NEW}


def test_moving_again_moves_nothing(fake_api, session):
    create_webhook(session, OLD, "track")
    move_endpoint(session, OLD, NEW)
    before = json.dumps(fake_api.webhooks, sort_keys=True)

    assert move_endpoint(session, OLD, NEW) == []
    assert json.dumps(fake_api.webhooks, sort_keys=True) == before
    assert "PUT" not in [c.method for c in fake_api.calls[-2:]]


def test_moving_to_the_same_url_is_refused(fake_api, session):
    with pytest.raises(ValueError, match="same"):
        move_endpoint(session, OLD, OLD)

    assert fake_api.calls == []


def test_a_move_the_api_did_not_apply_is_reported(fake_api, session):
    hook = create_webhook(session, OLD, "track")
    # An API that answers 204 and changes nothing.
    fake_api._update_webhook = lambda call, headers, webhook_id: Response(204)

    with pytest.raises(
        RuntimeError, match=rf"\['{hook['webhook_id']}'\] still send"
    ):
        move_endpoint(session, OLD, NEW)


def test_a_move_to_a_bad_url_is_a_400_and_changes_nothing(fake_api, session):
    hook = create_webhook(session, OLD, "track")

    with pytest.raises(ApiError) as raised:
        move_endpoint(session, OLD, "ftp://new.example.com/hooks")

    assert (raised.value.error_code, raised.value.field_name) == (
        "invalid_field_value",
        "url",
    )
    assert fake_api.webhooks[hook["webhook_id"]]["url"] == OLD


def test_running_the_module_moves_and_reports(
    fake_api, session, monkeypatch, capsys, run_main
):
    hook = create_webhook(session, OLD, "track")
    monkeypatch.setattr(sys, "argv", ["move_endpoint.py", OLD, NEW])

    run_main("snippets.move_endpoint")

    assert (
        capsys.readouterr().out
        == f"Moved 1 webhook(s) to {NEW}: {hook['webhook_id']}\n"
    )
    run_main("snippets.move_endpoint")
    assert capsys.readouterr().out == f"Moved 0 webhook(s) to {NEW}: -\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([OLD], "usage: python move_endpoint.py OLD_URL NEW_URL"),
        ([OLD, "not a url"], "Nothing moved: 400 invalid_field_value"),
        ([OLD, OLD], "Nothing moved: the old and the new URL are the same"),
    ],
)
def test_running_the_module_explains_failures(
    fake_api, session, monkeypatch, run_main, argv, message
):
    create_webhook(session, OLD, "track")
    monkeypatch.setattr(sys, "argv", ["move_endpoint.py", *argv])

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.move_endpoint")

    assert str(exited.value.code).startswith(message)
    assert fake_api.api_key not in str(exited.value.code)


# --------------------------------------------------------------------- relay
def test_the_relay_passes_the_delivery_on_byte_for_byte(new_endpoint):
    new_endpoint.post(NEW, status_code=204)
    body = json.dumps(sample_delivery("track"), indent=1).encode()

    answer = _deliver(body)

    assert answer.status_code == 204
    sent = new_endpoint.last_request
    assert sent.body == body
    for name, value in SIGNED.items():
        assert sent.headers[name] == value
    assert sent.headers["Content-Type"] == "application/json"
    assert (
        sent.headers.get("Host") != "localhost"
    )  # the relay's own host is dropped
    assert sent.timeout == (3.05, 10)


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_the_relay_refuses_what_the_new_endpoint_refused(new_endpoint, status):
    new_endpoint.post(NEW, status_code=status)

    answer = _deliver(b'{"resource_type": "API_BATCH"}')

    assert answer.status_code == 502  # so the platform sends it again later
    assert str(status).encode() in answer.data


@pytest.mark.parametrize(
    "failure", [requests.ConnectionError, requests.ReadTimeout]
)
def test_the_relay_refuses_when_the_new_endpoint_is_down(
    new_endpoint, failure, caplog
):
    new_endpoint.post(NEW, exc=failure("down"))

    with caplog.at_level(logging.WARNING):
        answer = _deliver(b'{"resource_type": "API_BATCH"}')

    assert answer.status_code == 502
    assert "could not pass a delivery on: down" in caplog.text


def test_the_relay_refuses_an_oversized_body_without_passing_it_on(
    new_endpoint,
):
    answer = _deliver(b" " * (1024 * 1024 + 1))

    assert answer.status_code == 413
    assert not new_endpoint.called


def test_a_relay_without_a_target_refuses_everything(monkeypatch):
    monkeypatch.setitem(relay.config, "NEW_ENDPOINT_URL", None)

    assert _deliver(b"{}").status_code == 502


def test_the_switch_end_to_end_loses_nothing(fake_api, session, monkeypatch):
    """Old server runs the relay, new server runs the minimal receiver over
    real
    HTTP; deliveries sent before, during and after the move all reach the new
    one."""
    while not snippets.endpoint.inbox.empty():
        snippets.endpoint.inbox.get_nowait()
    with LiveServer(snippets.endpoint.app) as new_server:
        new_url = f"{new_server.url}/webhooks"
        fake_api.mocker.post(new_url, real_http=True)
        monkeypatch.setitem(relay.config, "NEW_ENDPOINT_URL", new_url)
        hook = create_webhook(session, OLD, "batch")

        before = sample_delivery("batch")
        assert _deliver(json.dumps(before).encode()).status_code == 204
        assert move_endpoint(session, OLD, new_url) == [hook["webhook_id"]]
        late = sample_delivery(
            "track"
        )  # a retry the platform had queued for OLD
        assert _deliver(json.dumps(late).encode()).status_code == 204
        after = sample_delivery("rate")
        direct = requests.post(new_url, json=after, timeout=5)
        assert direct.status_code == 204

    received = [snippets.endpoint.inbox.get_nowait() for _ in range(3)]
    assert received == [before, late, after]
    assert fake_api.webhooks[hook["webhook_id"]]["url"] == new_url


# ----------------------------------------------- the download, as a reader
def test_the_download_moves_every_webhook_of_the_old_url(
    reader, api_env, http_api
):
    reader.download("move_endpoint.py")
    for number, event in enumerate(("track", "batch")):
        hook_id = str(5519 + number)
        http_api.webhooks[hook_id] = {
            "webhook_id": hook_id,
            "url": OLD,
            "event": event,
        }

    moved = reader.run("move_endpoint.py", OLD, NEW, env=api_env)
    again = reader.run("move_endpoint.py", OLD, NEW, env=api_env)

    assert moved.stdout == f"Moved 2 webhook(s) to {NEW}: 5519, 5520\n"
    assert again.stdout == f"Moved 0 webhook(s) to {NEW}: -\n"
    assert {h["url"] for h in http_api.webhooks.values()} == {NEW}


def test_the_download_s_relay_runs_as_the_page_says(reader):
    """``flask --app move_endpoint:relay run --port ...`` in a folder that
    holds the download alone: the relay passes a delivery to the new
    endpoint and refuses what is too large."""
    reader.download("move_endpoint.py")
    received = []

    def new_endpoint(environ, start_response):
        received.append(
            environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        )
        start_response("204 No Content", [])
        return [b""]

    port = free_port()
    flask = str(Path(sys.executable).with_name("flask"))
    with (
        LiveServer(new_endpoint) as new,
        reader.serve(
            flask, "--app", "move_endpoint:relay", "run", "--port", str(port),
            port=port, env={"NEW_ENDPOINT_URL": f"{new.url}/webhooks"},
        ) as old,
    ):  # fmt: skip
        body = json.dumps(sample_delivery("batch")).encode()
        passed = requests.post(f"{old}/webhooks", data=body, timeout=10)
        too_big = requests.post(
            f"{old}/webhooks", data=b"x" * (1024 * 1024 + 1), timeout=10
        )

    assert (passed.status_code, too_big.status_code) == (204, 413)
    assert received == [body]
