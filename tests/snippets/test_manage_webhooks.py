"""Tests for snippets/manage_webhooks.py (page: docs/manage-webhooks.md)."""

import sys

import pytest

from snippets import schemas, settings
from snippets.client import ApiError, api_call, api_session
from snippets.create_webhook import create_webhook
from snippets.manage_webhooks import (
    delete_webhook,
    get_webhook,
    list_webhooks,
    run,
    update_webhook,
)

URL = "https://example.com/webhooks"
NEW_URL = "https://new.example.com/webhooks"


@pytest.fixture
def session(fake_api):
    return api_session()


@pytest.fixture
def track(session):
    return create_webhook(session, URL, "track")


# ---------------------------------------------------------------------- list
def test_list_is_empty_without_webhooks(fake_api, session):
    assert list_webhooks(session) == []


def test_list_returns_every_active_webhook(fake_api, session, track):
    batch = create_webhook(session, NEW_URL, "batch")
    delete_webhook(session, track["webhook_id"])

    assert list_webhooks(session) == [batch]
    assert fake_api.calls[-1].method == "GET"


# ----------------------------------------------------------------------- get
def test_get_returns_the_webhook(session, track):
    assert get_webhook(session, track["webhook_id"]) == track


def test_get_an_unknown_id_is_a_404(session):
    with pytest.raises(ApiError) as raised:
        get_webhook(session, "404404")

    assert (raised.value.status, raised.value.error_code) == (404, "not_found")
    assert "404404" in raised.value.message


# -------------------------------------------------------------------- update
def test_update_moves_the_url_and_keeps_the_rest(fake_api, session):
    hook = api_call(
        session,
        "POST",
        settings.WEBHOOKS_PATH,
        json={
            "url": URL,
            "event": "track",
            "name": "tracking",
            "headers": [{"key": "X-Tenant", "value": "eu-1"}],
        },
    )

    assert update_webhook(session, hook["webhook_id"], NEW_URL) is None

    assert fake_api.calls[-1].status == 204
    assert get_webhook(session, hook["webhook_id"]) == {**hook, "url": NEW_URL}


def test_update_replaces_headers_and_name(session, track):
    update_webhook(
        session,
        track["webhook_id"],
        URL,
        headers={"X-Tenant": "us-2"},
        name="t",
    )

    assert get_webhook(session, track["webhook_id"]) == {
        **track,
        "headers": [{"key": "X-Tenant", "value": "us-2"}],
        "name": "t",
    }


def test_update_with_no_headers_removes_them(session, track):
    update_webhook(session, track["webhook_id"], URL, headers={"X-A": "1"})
    update_webhook(session, track["webhook_id"], URL, headers={})

    assert "headers" not in get_webhook(session, track["webhook_id"])


def test_update_sends_a_body_the_schema_accepts(fake_api, session, track):
    update_webhook(
        session, track["webhook_id"], URL, headers={"X-A": "1"}, name="n"
    )

    body = fake_api.mocker.last_request.json()
    assert not schemas.problems("update_webhook_request", body)


def test_update_an_unknown_id_is_a_404(session):
    with pytest.raises(ApiError) as raised:
        update_webhook(session, "404404", NEW_URL)

    assert raised.value.error_code == "not_found"


@pytest.mark.parametrize(
    ("url", "headers", "field"),
    [
        ("not a url", None, "url"),
        ("ftp://example.com/hooks", None, "url"),
        (NEW_URL, {"X-A": 1}, "headers"),
    ],
)
def test_update_with_bad_values_is_a_400_naming_the_field(
    fake_api, session, track, url, headers, field
):
    with pytest.raises(ApiError) as raised:
        update_webhook(session, track["webhook_id"], url, headers=headers)

    assert (raised.value.status, raised.value.error_code) == (
        400,
        "invalid_field_value",
    )
    assert raised.value.field_name == field
    assert fake_api.webhooks[track["webhook_id"]] == track


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": URL, "event": "batch"}, "invalid_field_value", "event"),
        ({"name": "no url"}, "field_value_required", "url"),
        (None, "request_body_required", None),
    ],
)
def test_the_api_refuses_a_put_that_changes_the_event_or_lacks_the_url(
    session, track, body, code, field
):
    path = f"{settings.WEBHOOKS_PATH}/{track['webhook_id']}"

    with pytest.raises(ApiError) as raised:
        api_call(session, "PUT", path, json=body)

    assert (raised.value.status, raised.value.error_code) == (400, code)
    assert raised.value.field_name == field


# -------------------------------------------------------------------- delete
def test_delete_removes_it_for_good(fake_api, session, track):
    assert delete_webhook(session, track["webhook_id"]) is True

    assert fake_api.calls[-1].status == 204
    assert list_webhooks(session) == []
    with pytest.raises(ApiError, match="not_found"):
        get_webhook(session, track["webhook_id"])


def test_delete_twice_is_safe(session, track):
    delete_webhook(session, track["webhook_id"])

    assert delete_webhook(session, track["webhook_id"]) is False


def test_delete_does_not_hide_other_errors(
    fake_api, session, track, monkeypatch
):
    monkeypatch.setenv(settings.API_KEY_ENV, "revoked-key")

    with pytest.raises(ApiError) as raised:
        delete_webhook(api_session(), track["webhook_id"])

    assert (raised.value.status, raised.value.error_code) == (
        401,
        "unauthorized",
    )
    assert track["webhook_id"] in fake_api.webhooks


def test_a_rate_limited_call_surfaces_retry_after(fake_api, session):
    # Requests-mock: the session's Retry does not run here
    fake_api.rate_limit = 0

    with pytest.raises(ApiError) as raised:
        list_webhooks(session)

    assert (raised.value.status, raised.value.error_code) == (
        429,
        "rate_limit_exceeded",
    )
    assert raised.value.response.headers["Retry-After"] == "60"


# ---------------------------------------------------------- the command line
def test_the_command_line_lists_gets_moves_and_deletes(fake_api, track):
    hook_id = track["webhook_id"]

    assert run(["list"]) == f"{hook_id}\ttrack\t{URL}"
    assert run(["get", hook_id]) == f"{hook_id}\ttrack\t{URL}"
    assert (
        run(["move", hook_id, NEW_URL])
        == f"Webhook {hook_id} now sends to {NEW_URL}"
    )
    assert fake_api.webhooks[hook_id]["url"] == NEW_URL
    assert run(["delete", hook_id]) == f"Deleted webhook {hook_id}"
    assert run(["delete", hook_id]) == "Already deleted"
    assert run(["list"]) == "No webhooks."


@pytest.mark.parametrize(
    "argv", [[], ["get"], ["remove", "5519"], ["move", "5519"]]
)
def test_the_command_line_explains_its_usage(monkeypatch, argv):
    monkeypatch.delenv(settings.API_KEY_ENV, raising=False)  # not needed

    with pytest.raises(SystemExit, match="usage: list"):
        run(argv)


def test_running_the_module_prints_the_answer(
    fake_api, track, monkeypatch, capsys, run_main
):
    monkeypatch.setattr(sys, "argv", ["manage_webhooks.py", "list"])

    run_main("snippets.manage_webhooks")

    assert capsys.readouterr().out == f"{track['webhook_id']}\ttrack\t{URL}\n"


def test_running_the_module_reports_the_api_error(
    fake_api, monkeypatch, run_main
):
    monkeypatch.setattr(sys, "argv", ["manage_webhooks.py", "get", "404404"])

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.manage_webhooks")

    assert str(exited.value.code).startswith("The API refused: 404 not_found")
    assert fake_api.api_key not in str(exited.value.code)


# ----------------------------------------------- the download, as a reader
def test_the_download_does_what_the_page_s_commands_say(
    reader, api_env, http_api
):
    reader.download("manage_webhooks.py")
    http_api.webhooks["5519"] = {
        "webhook_id": "5519",
        "url": URL,
        "event": "track",
    }

    def run_it(*args):
        answer = reader.run("manage_webhooks.py", *args, env=api_env)
        assert answer.returncode == 0, answer.stderr
        return answer.stdout

    assert run_it("list") == f"5519\ttrack\t{URL}\n"
    assert run_it("get", "5519") == f"5519\ttrack\t{URL}\n"
    assert (
        run_it("move", "5519", NEW_URL)
        == f"Webhook 5519 now sends to {NEW_URL}\n"
    )
    assert http_api.webhooks["5519"]["url"] == NEW_URL
    assert run_it("delete", "5519") == "Deleted webhook 5519\n"
    assert http_api.webhooks == {}
    assert run_it("list") == "No webhooks.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "404404"], "The API refused: 404 not_found"),
        (["remove", "5519"], "usage: list"),
    ],
)
def test_the_download_explains_in_one_line(reader, api_env, args, message):
    reader.download("manage_webhooks.py")

    answer = reader.run("manage_webhooks.py", *args, env=api_env)

    assert answer.returncode == 1
    assert answer.stderr.startswith(message)
    assert answer.stderr.count("\n") == 1
