"""Tests for snippets/create_webhook.py (page: docs/create-webhook.md)."""

import sys

import pytest

from snippets.client import ApiError, api_session
from snippets.create_webhook import create_webhook, ensure_webhook

URL = "https://example.com/webhooks"
NEW_URL = "https://new.example.com/webhooks"


def test_create_returns_the_new_webhook(fake_api):
    webhook = create_webhook(api_session(), URL, "batch")

    assert webhook == {"webhook_id": "5519", "url": URL, "event": "batch"}
    assert fake_api.webhooks["5519"] == webhook
    assert fake_api.calls[-1].headers["API-Key"] == fake_api.api_key


def test_a_second_webhook_for_the_event_is_a_409_with_the_api_message(
    fake_api,
):
    session = api_session()
    create_webhook(session, URL, "batch")

    with pytest.raises(ApiError) as raised:
        create_webhook(session, "https://other.example.com/hooks", "batch")

    error = raised.value
    assert error.status == 409
    assert error.error_code == "webhook_event_type_conflict"
    assert error.message == "The 'batch' event already has a webhook."
    assert error.request_id
    assert len(fake_api.webhooks) == 1


@pytest.mark.parametrize(
    ("url", "event", "code", "field"),
    [
        ("not a url", "batch", "invalid_field_value", "url"),
        ("/relative/path", "batch", "invalid_field_value", "url"),
        ("ftp://example.com/hooks", "batch", "invalid_field_value", "url"),
        (URL, "tracking", "invalid_field_value", "event"),
        (URL, "", "invalid_field_value", "event"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    fake_api, url, event, code, field
):
    with pytest.raises(ApiError) as raised:
        create_webhook(api_session(), url, event)

    assert (raised.value.status, raised.value.error_code) == (400, code)
    assert raised.value.field_name == field
    assert not fake_api.webhooks


def test_ensure_creates_when_there_is_none(fake_api):
    webhook = ensure_webhook(api_session(), URL, "track")

    assert webhook["event"] == "track"
    assert [c.method for c in fake_api.calls] == ["POST"]


def test_ensure_twice_changes_nothing(fake_api):
    session = api_session()
    first = ensure_webhook(session, URL, "track")
    before = dict(fake_api.webhooks)

    second = ensure_webhook(session, URL, "track")

    assert second == first
    assert fake_api.webhooks == before
    assert [c.method for c in fake_api.calls] == ["POST", "POST", "GET"]


def test_ensure_moves_the_existing_webhook_to_the_new_url(fake_api):
    session = api_session()
    old = ensure_webhook(session, "https://old.example.com/hooks", "track")
    create_webhook(session, URL, "batch")

    moved = ensure_webhook(session, URL, "track")

    assert moved["webhook_id"] == old["webhook_id"]
    assert fake_api.webhooks[old["webhook_id"]]["url"] == URL
    assert fake_api.calls[-1].method == "PUT"


def test_ensure_creates_again_when_the_webhook_vanished_after_the_409(
    fake_api,
):
    session = api_session()
    ensure_webhook(session, URL, "rate")
    # Another process deletes the webhook between our POST and our GET.
    original_list = fake_api._list_webhooks

    def list_after_delete(call, headers):
        fake_api.webhooks.clear()
        return original_list(call, headers)

    fake_api._list_webhooks = list_after_delete

    webhook = ensure_webhook(session, URL, "rate")

    assert webhook["event"] == "rate"
    assert [w["event"] for w in fake_api.webhooks.values()] == ["rate"]


def test_ensure_does_not_swallow_other_errors(fake_api):
    with pytest.raises(ApiError) as raised:
        ensure_webhook(api_session(), URL, "no_such_event")

    assert raised.value.error_code == "invalid_field_value"


def test_running_the_module_subscribes_webhook_url_to_batch(
    fake_api, monkeypatch, capsys, run_main
):
    monkeypatch.setenv("WEBHOOK_URL", URL)
    monkeypatch.setattr(sys, "argv", ["create_webhook.py"])

    run_main("snippets.create_webhook")

    assert (
        capsys.readouterr().out
        == f"Webhook 5519 sends batch deliveries to {URL}\n"
    )


def test_running_the_module_reports_the_api_error(
    fake_api, monkeypatch, run_main
):
    monkeypatch.setenv("WEBHOOK_URL", "not-a-url")
    monkeypatch.setattr(sys, "argv", ["create_webhook.py", "track"])

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.create_webhook")

    assert str(exited.value.code).startswith("No webhook for track: 400")
    assert fake_api.api_key not in str(exited.value.code)


# ----------------------------------------------- the download, as a reader
def test_the_download_creates_the_webhook_then_changes_nothing(
    reader, api_env, http_api
):
    reader.download("create_webhook.py")
    env = {**api_env, "WEBHOOK_URL": URL}

    first = reader.run("create_webhook.py", env=env)
    again = reader.run("create_webhook.py", "batch", env=env)
    other = reader.run("create_webhook.py", "track", env=env)

    assert first.returncode == 0, first.stderr
    hooks = list(http_api.webhooks.values())
    assert first.stdout == f"Webhook 5519 sends batch deliveries to {URL}\n"
    assert again.stdout == first.stdout
    assert other.stdout == f"Webhook 5520 sends track deliveries to {URL}\n"
    assert [(h["event"], h["url"]) for h in hooks] == [
        ("batch", URL),
        ("track", URL),
    ]
    methods = [c.method for c in http_api.calls]
    assert methods == ["POST", "POST", "GET", "POST"]


def test_the_download_moves_the_event_s_webhook_to_a_new_url(
    reader, api_env, http_api
):
    reader.download("create_webhook.py")
    reader.run("create_webhook.py", env={**api_env, "WEBHOOK_URL": URL})

    moved = reader.run(
        "create_webhook.py", env={**api_env, "WEBHOOK_URL": NEW_URL}
    )

    assert (
        moved.stdout == f"Webhook 5519 sends batch deliveries to {NEW_URL}\n"
    )
    assert http_api.webhooks["5519"]["url"] == NEW_URL


def test_the_download_explains_a_refusal_in_one_line(reader, api_env):
    reader.download("create_webhook.py")

    refused = reader.run(
        "create_webhook.py", "parcel", env={**api_env, "WEBHOOK_URL": URL}
    )

    assert refused.returncode == 1
    assert refused.stderr.startswith("No webhook for parcel: 400")
    assert refused.stderr.count("\n") == 1
    assert api_env["YOURSTORE_API_KEY"] not in refused.stderr
