"""Tests for snippets/client.py (page: docs/client.md).

Retries are tested over real HTTP (tests/support/servers.py): requests-mock
replaces the transport adapter, so urllib3's ``Retry`` never runs under it.
"""

import threading
import uuid

import pytest
import requests
import requests_mock

import snippets.client
from snippets import catalog, settings
from snippets.client import ApiError, api_call, api_session
from snippets.create_webhook import create_webhook, ensure_webhook
from tests.support.fake_api import FakeApi
from tests.support.servers import LiveServer
from tests.support.site import BuiltSite

HOOKS = settings.WEBHOOKS_PATH
URL = "https://example.com/webhooks"

BACKOFF = [1.0, 2.0, 4.0, 8.0]  # no wait before the first retry, then doubling


# ------------------------------------------------------------------ the
# session
def test_a_session_needs_the_key_in_the_environment(monkeypatch):
    monkeypatch.delenv(settings.API_KEY_ENV, raising=False)

    with pytest.raises(RuntimeError, match=settings.API_KEY_ENV):
        api_session()


def test_every_call_sends_the_key_and_the_timeout(fake_api):
    session = api_session()
    api_call(session, "POST", HOOKS, json={"url": URL, "event": "batch"})
    api_call(session, "GET", HOOKS)
    api_call(session, "DELETE", f"{HOOKS}/5519")

    history = fake_api.mocker.request_history
    assert [r.method for r in history] == ["POST", "GET", "DELETE"]
    assert all(r.headers["API-Key"] == fake_api.api_key for r in history)
    assert all(r.timeout == settings.TIMEOUT for r in history)


def test_an_empty_answer_is_none_and_json_is_decoded(fake_api):
    session = api_session()
    created = api_call(
        session, "POST", HOOKS, json={"url": URL, "event": "rate"}
    )

    assert api_call(session, "GET", HOOKS) == [created]
    assert (
        api_call(session, "DELETE", f"{HOOKS}/{created['webhook_id']}") is None
    )


def test_the_retry_policy_matches_the_catalog(api_key):
    retry = api_session().get_adapter(settings.API_BASE).max_retries

    for error in catalog.ERRORS:
        assert (error.status in retry.status_forcelist) == error.retried, error
    assert retry.total == 5
    assert retry.respect_retry_after_header


def test_only_methods_safe_to_repeat_are_retried_unless_post_opts_in(api_key):
    def methods(session):
        return session.get_adapter(
            settings.API_BASE
        ).max_retries.allowed_methods

    assert {"GET", "PUT", "DELETE"} <= methods(api_session())
    assert "POST" not in methods(api_session())
    assert "POST" in methods(api_session(retry_post=True))


# ----------------------------------------------------------------- ApiError
def test_an_api_error_carries_the_body_of_the_answer(fake_api):
    with pytest.raises(ApiError) as raised:
        api_call(api_session(), "GET", f"{HOOKS}/404404")

    error = raised.value
    assert (error.status, error.error_code) == (404, "not_found")
    assert error.message == "No webhook has the id '404404'."
    assert error.field_name is None
    assert uuid.UUID(error.request_id).version == 4
    assert error.attempts == 1
    assert error.response.status_code == 404
    text = str(error)
    assert "404 not_found: No webhook has the id '404404'." in text
    assert error.request_id in text
    assert fake_api.api_key not in text


def test_an_api_error_names_the_field_at_fault(fake_api):
    with pytest.raises(ApiError) as raised:
        api_call(api_session(), "POST", HOOKS, json={"event": "batch"})

    assert raised.value.error_code == "field_value_required"
    assert raised.value.field_name == "url"


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        (
            b"<html>Bad gateway</html>",
            "Bad Gateway",
            "<html>Bad gateway</html>",
        ),
        (b"", "Bad Gateway", "Bad Gateway"),
        (b"", "", "no message"),
        (b'{"errors": []}', "Bad Gateway", '{"errors": []}'),
    ],
)
def test_an_answer_that_is_not_the_api_s_error_shape_still_explains(
    api_key, body, reason, message
):
    with requests_mock.Mocker() as mocker:
        mocker.get(
            settings.API_BASE + HOOKS,
            status_code=502,
            content=body,
            reason=reason,
        )
        with pytest.raises(ApiError) as raised:
            api_call(api_session(), "GET", HOOKS)

    error = raised.value
    assert (error.status, error.error_code) == (502, "unknown")
    assert error.message == message
    assert error.request_id is None


# ------------------------------------------- retries, over real HTTP on
# 127.0.0.1
def test_a_429_waits_the_retry_after_seconds_then_succeeds(live_api, sleeps):
    live_api.rate_limit = 1
    session = api_session()
    api_call(session, "GET", HOOKS)

    created = api_call(
        session, "POST", HOOKS, json={"url": URL, "event": "batch"}
    )

    assert created["event"] == "batch"
    assert [c.status for c in live_api.calls] == [200, 429, 200]
    assert sleeps == [60]  # the fake's Retry-After, not the backoff
    assert len(live_api.webhooks) == 1


def test_a_503_with_retry_after_is_honoured(live_api, sleeps):
    live_api.fail_next(503, times=2, retry_after="7")

    assert api_call(api_session(), "GET", HOOKS) == []
    assert sleeps == [7, 7]
    assert [c.status for c in live_api.calls] == [503, 503, 200]


def test_a_500_is_retried_at_once_and_then_with_backoff(live_api, sleeps):
    live_api.fail_next(500, times=3)

    assert api_call(api_session(), "GET", HOOKS) == []
    assert sleeps == BACKOFF[:2]
    assert [c.status for c in live_api.calls] == [500, 500, 500, 200]


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_retried(live_api, sleeps, status):
    live_api.fail_next(status)

    assert api_call(api_session(), "GET", HOOKS) == []
    assert [c.status for c in live_api.calls] == [status, 200]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_post_is_sent_again_after_a_5xx_only_when_it_opted_in(
    live_api, sleeps, status
):
    body = {"url": URL, "event": "track"}
    live_api.fail_next(status, times=2)

    with pytest.raises(ApiError) as raised:
        api_call(api_session(), "POST", HOOKS, json=body)
    created = api_call(api_session(retry_post=True), "POST", HOOKS, json=body)

    assert (raised.value.status, raised.value.attempts) == (status, 1)
    assert [c.status for c in live_api.calls] == [status, status, 200]
    assert list(live_api.webhooks.values()) == [created]


def test_503_until_the_retries_run_out_is_a_clear_error(live_api, sleeps):
    live_api.fail_next(503, times=10)

    with pytest.raises(ApiError) as raised:
        api_call(api_session(), "GET", HOOKS)

    error = raised.value
    assert (error.status, error.error_code) == (503, "service_unavailable")
    assert error.attempts == 6 == len(live_api.calls)
    assert "6 attempt(s)" in str(error)
    assert error.request_id in str(error)
    assert sleeps == BACKOFF


def test_fewer_retries_make_fewer_attempts(live_api, sleeps):
    live_api.fail_next(503, times=10)

    with pytest.raises(ApiError) as raised:
        api_call(api_session(retries=2), "DELETE", f"{HOOKS}/5519")

    assert raised.value.attempts == 3 == len(live_api.calls)
    assert sleeps == BACKOFF[:1]


def _conflict(fake):
    api_call(api_session(), "POST", HOOKS, json={"url": URL, "event": "batch"})
    fake.calls.clear()
    return "POST", HOOKS, {"url": URL, "event": "batch"}


@pytest.mark.parametrize(
    ("status", "error_code", "method", "path", "body"),
    [
        (
            400,
            "invalid_field_value",
            "POST",
            HOOKS,
            {"url": "nope", "event": "rate"},
        ),
        (400, "field_value_required", "PUT", None, {"name": "no url"}),
        (400, "request_body_required", "POST", HOOKS, None),
        (401, "unauthorized", "GET", HOOKS, None),
        (404, "not_found", "DELETE", f"{HOOKS}/404404", None),
        (
            409,
            "webhook_event_type_conflict",
            "POST",
            HOOKS,
            {"url": URL, "event": "batch"},
        ),
    ],
)
def test_4xx_answers_are_never_retried(
    live_api, sleeps, monkeypatch, status, error_code, method, path, body
):
    existing = api_call(
        api_session(), "POST", HOOKS, json={"url": URL, "event": "batch"}
    )
    live_api.calls.clear()
    if status == 401:
        monkeypatch.setenv(settings.API_KEY_ENV, "not-the-key")
    path = path or f"{HOOKS}/{existing['webhook_id']}"

    with pytest.raises(ApiError) as raised:
        api_call(api_session(), method, path, json=body)

    assert (raised.value.status, raised.value.error_code) == (
        status,
        error_code,
    )
    assert raised.value.attempts == 1 == len(live_api.calls)
    assert sleeps == []


def test_a_refused_connection_is_retried_then_raised(
    api_key, sleeps, monkeypatch, refused_url
):
    monkeypatch.setattr(snippets.client, "API_BASE", refused_url)

    with pytest.raises(requests.ConnectionError, match="Connection refused"):
        api_call(api_session(), "GET", HOOKS)

    assert sleeps == BACKOFF


def test_a_timeout_is_retried_then_raised(
    api_key, sleeps, monkeypatch, silent_server
):
    monkeypatch.setattr(snippets.client, "TIMEOUT", (1, 0.05))
    monkeypatch.setattr(snippets.client, "API_BASE", silent_server.url)

    with pytest.raises(requests.ConnectionError, match="Read timed out"):
        api_call(api_session(), "GET", HOOKS)

    assert silent_server.connections() == 6
    assert sleeps == BACKOFF


# ------------------------------------------------------------------ the page
def test_the_page_lists_what_an_api_error_carries(built_site):
    soup = BuiltSite(built_site).soup("client.md")
    attributes = {
        row.find("td").get_text() for row in soup.select("article tbody tr")
    }

    assert attributes == {
        "status",
        "error_code",
        "message",
        "field_name",
        "request_id",
        "attempts",
        "response",
    }
    assert attributes <= set(ApiError.__init__.__code__.co_names)
    assert "6 attempt(s)" in soup.get_text()


def test_a_create_whose_answer_was_lost_is_retried_into_a_409(
    api_key, sleeps, monkeypatch
):
    """The first POST creates the webhook but its answer never arrives; a
    session that may retry POST sends it again and gets a 409.
    ensure_webhook, unlike create_webhook, takes that as success."""

    fake = FakeApi(api_key=api_key)
    release = threading.Event()
    stalled = []

    def answer_lost_once(environ, start_response):
        answer = fake.wsgi_app(environ, start_response)
        if environ["REQUEST_METHOD"] == "POST" and not stalled:
            stalled.append(environ["PATH_INFO"])
            release.wait(10)  # longer than the client's read timeout
        return answer

    monkeypatch.setattr(snippets.client, "TIMEOUT", (1, 0.2))
    with LiveServer(answer_lost_once) as server:
        monkeypatch.setattr(snippets.client, "API_BASE", server.url)
        try:
            with pytest.raises(ApiError) as raised:
                create_webhook(api_session(retry_post=True), URL, "batch")
            webhook = ensure_webhook(
                api_session(retry_post=True), URL, "batch"
            )
        finally:
            release.set()

    assert (raised.value.status, raised.value.attempts) == (409, 2)
    assert list(fake.webhooks.values()) == [webhook]
    assert [c.method for c in fake.calls] == ["POST", "POST", "POST", "GET"]


def test_a_post_whose_answer_was_lost_is_not_sent_again_by_default(
    api_key, sleeps, monkeypatch
):
    fake = FakeApi(api_key=api_key)
    release = threading.Event()

    def answer_never_arrives(environ, start_response):
        answer = fake.wsgi_app(environ, start_response)
        release.wait(10)  # longer than the client's read timeout
        return answer

    monkeypatch.setattr(snippets.client, "TIMEOUT", (1, 0.2))
    with LiveServer(answer_never_arrives) as server:
        monkeypatch.setattr(snippets.client, "API_BASE", server.url)
        try:
            with pytest.raises(requests.ReadTimeout):
                create_webhook(api_session(), URL, "batch")
        finally:
            release.set()

    assert [c.method for c in fake.calls] == ["POST"]
    assert sleeps == []


# ----------------------------------------------- the download, as a reader
def test_the_download_checks_the_key(reader, api_env, http_api):
    reader.download("client.py")

    answer = reader.run("client.py", env=api_env)

    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == "Your key works: the account has 0 webhook(s).\n"
    assert [(c.method, c.path) for c in http_api.calls] == [("GET", HOOKS)]


def test_the_download_says_which_variable_is_missing(reader):
    reader.download("client.py")

    answer = reader.run("client.py")

    assert answer.returncode == 1
    assert answer.stderr == (
        f"The key does not work: Set {settings.API_KEY_ENV} to your API key.\n"
    )


def test_the_download_says_when_the_key_is_refused(reader, api_env):
    reader.download("client.py")

    answer = reader.run(
        "client.py", env={**api_env, settings.API_KEY_ENV: "wrong"}
    )

    assert answer.returncode == 1
    assert answer.stderr.startswith("The key does not work: 401 unauthorized")
    assert "wrong" not in answer.stderr


# ------------------------------------------ the module's main, in-process
def test_running_the_module_counts_the_webhooks(fake_api, capsys, run_main):
    create_webhook(api_session(), "https://example.com/webhooks", "track")

    run_main("snippets.client")

    assert capsys.readouterr().out == (
        "Your key works: the account has 1 webhook(s).\n"
    )


def test_running_the_module_without_the_key_says_so(monkeypatch, run_main):
    monkeypatch.delenv(settings.API_KEY_ENV, raising=False)

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.client")

    assert exited.value.code == (
        f"The key does not work: Set {settings.API_KEY_ENV} to your API key."
    )
