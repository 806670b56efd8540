"""Tests for snippets/errors.py (page: docs/errors.md)."""

import email.utils
import json

import pytest
import requests

import snippets.client
from snippets import catalog, settings
from snippets.client import ApiError, api_call, api_session
from snippets.create_webhook import create_webhook
from snippets.errors import DEFAULT_WAIT, Outcome, retry_after, run_api_job
from snippets.manage_webhooks import (
    delete_webhook,
    list_webhooks,
    update_webhook,
)
from tests.support.site import BuiltSite

URL = "https://example.com/webhooks"
PAGE = "errors.md"
NOW = 1_750_000_000.0


def _error_with(retry_after_header):
    response = requests.Response()
    response.status_code = 429
    response._content = b""
    if retry_after_header is not None:
        response.headers["Retry-After"] = retry_after_header
    return ApiError(response)


# -------------------------------------------------------------- Retry-After
@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("60", 60.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
        (None, None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_reads_seconds_and_dates(header, seconds):
    assert retry_after(_error_with(header), now=NOW) == seconds


def test_retry_after_defaults_to_the_clock(monkeypatch):
    monkeypatch.setattr("snippets.errors.time.time", lambda: NOW)

    assert (
        retry_after(_error_with(email.utils.formatdate(NOW + 5, usegmt=True)))
        == 5
    )


def test_retry_after_from_the_fake_s_429(fake_api):
    session = api_session()
    fake_api.rate_limit = 1
    list_webhooks(session)
    fake_api.advance(45)

    with pytest.raises(
        ApiError
    ) as raised:  # requests-mock: no retry runs here
        list_webhooks(session)

    assert raised.value.error_code == "rate_limit_exceeded"
    assert retry_after(raised.value) == 15.0  # what is left of the minute


# ------------------------------------------------------------ run_api_job
def test_a_job_that_succeeds_is_done(fake_api):
    session = api_session()

    outcome = run_api_job(lambda: create_webhook(session, URL, "batch"))

    assert outcome == Outcome(True)
    assert len(fake_api.webhooks) == 1


def test_a_rate_limited_job_runs_again_after_retry_after(fake_api):
    session = api_session()
    fake_api.rate_limit = 0

    outcome = run_api_job(lambda: list_webhooks(session))

    assert (outcome.done, outcome.retry_in) == (False, 60.0)
    assert "rate_limit_exceeded" in outcome.reason


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [(503, "9", 9.0), (503, "0", 0.0), (500, None, DEFAULT_WAIT)],
)
def test_a_job_hit_by_a_system_error_runs_again(
    fake_api, status, header, wait
):
    session = api_session()
    fake_api.fail_next(status, retry_after=header)

    outcome = run_api_job(lambda: list_webhooks(session))

    assert (outcome.done, outcome.retry_in) == (False, wait)
    assert str(status) in outcome.reason


def test_a_job_retried_until_503_runs_out_runs_again_later(live_api, sleeps):
    live_api.fail_next(503, times=10)

    outcome = run_api_job(lambda: list_webhooks(api_session()))

    assert (outcome.done, outcome.retry_in) == (False, DEFAULT_WAIT)
    assert "6 attempt(s)" in outcome.reason
    assert len(live_api.calls) == 6


def test_a_job_that_cannot_connect_runs_again(
    api_key, sleeps, monkeypatch, refused_url
):
    monkeypatch.setattr(snippets.client, "API_BASE", refused_url)

    outcome = run_api_job(lambda: list_webhooks(api_session()))

    assert (outcome.done, outcome.retry_in) == (False, DEFAULT_WAIT)
    assert "could not be reached" in outcome.reason
    assert len(sleeps) == 4  # the session retried before giving up


def test_a_job_that_times_out_runs_again(fake_api):
    fake_api.mocker.get(
        settings.API_BASE + settings.WEBHOOKS_PATH, exc=requests.ReadTimeout
    )

    outcome = run_api_job(lambda: list_webhooks(api_session()))

    assert (outcome.done, outcome.retry_in) == (False, DEFAULT_WAIT)


@pytest.mark.parametrize(
    ("job", "code", "field"),
    [
        (
            lambda s: create_webhook(s, "not a url", "batch"),
            "invalid_field_value",
            "url",
        ),
        (
            lambda s: api_call(
                s, "POST", settings.WEBHOOKS_PATH, json={"url": URL}
            ),
            "field_value_required",
            "event",
        ),
        (
            lambda s: api_call(s, "POST", settings.WEBHOOKS_PATH),
            "request_body_required",
            None,
        ),
        (
            lambda s: create_webhook(s, URL, "track"),
            "webhook_event_type_conflict",
            None,
        ),
    ],
)
def test_a_job_with_a_bad_request_is_not_run_again(fake_api, job, code, field):
    session = api_session()
    create_webhook(session, URL, "track")

    outcome = run_api_job(lambda: job(session))

    assert (outcome.done, outcome.retry_in) == (False, None)
    assert code in outcome.reason
    assert (f"(field {field})" in outcome.reason) == (field is not None)


def test_a_job_on_a_deleted_webhook_is_not_run_again(fake_api):
    session = api_session()

    outcome = run_api_job(lambda: update_webhook(session, "404404", URL))

    assert outcome == Outcome(False, None, outcome.reason)
    assert outcome.reason.startswith("nothing to act on: 404 not_found")


def test_a_bad_key_stops_the_worker(fake_api, monkeypatch):
    monkeypatch.setenv(settings.API_KEY_ENV, "revoked-key")

    with pytest.raises(ApiError) as raised:
        run_api_job(lambda: delete_webhook(api_session(), "5519"))

    assert raised.value.error_code == "unauthorized"
    assert "revoked-key" not in str(raised.value)


# ------------------------------------------------------------------ the page
def test_the_page_s_error_bodies_are_what_the_fake_answers(
    fake_api, built_site
):
    """The 400 is replayed with the page's curl; the 429 is shown without
    one (a page cannot send 200 requests), so it is compared here."""
    shown = [
        json.loads(block.text)
        for block in BuiltSite(built_site).blocks(PAGE)
        if block.attrs.get("data-schema") == "error"
    ]
    session = api_session()
    with pytest.raises(ApiError) as invalid:
        create_webhook(session, "example.com/webhooks", "batch")
    for _ in range(catalog.RATE_LIMIT_PER_MINUTE - 1):  # the create was one
        list_webhooks(session)
    with pytest.raises(ApiError) as limited:
        list_webhooks(session)

    answered = [invalid.value.response.json(), limited.value.response.json()]
    assert [{**b, "request_id": None} for b in answered] == [
        {**b, "request_id": None} for b in shown
    ]


# ----------------------------------------------- the download, as a reader
def test_the_download_says_what_to_do_after_one_job(reader, api_env):
    """(Its waits are real in a child process; the busy cases are tested in
    process above, with urllib3's sleep recorded instead.)"""
    reader.download("errors.py")

    done = reader.run("errors.py", env=api_env)
    refused = reader.run(
        "errors.py", env={**api_env, "YOURSTORE_API_KEY": "x"}
    )

    assert done.stdout == "Done: nothing more to do.\n"
    assert refused.returncode == 1
    assert refused.stderr.startswith("Stop and fix the key: 401 unauthorized")
    assert refused.stderr.count("\n") == 1


# ------------------------------------------ the module's main, in-process
def test_running_the_module_runs_one_job(fake_api, capsys, run_main):
    run_main("snippets.errors")

    assert capsys.readouterr().out == "Done: nothing more to do.\n"
    assert [c.method for c in fake_api.calls] == ["GET"]


def test_running_the_module_says_when_to_run_it_again(
    fake_api, capsys, run_main
):
    fake_api.rate_limit = 0

    run_main("snippets.errors")

    out = capsys.readouterr().out
    assert out.startswith("Run it again in 60 s: the API asked us to wait: ")
    assert "rate_limit_exceeded" in out


def test_running_the_module_says_when_not_to_run_it_again(
    fake_api, capsys, monkeypatch
):
    import snippets.errors

    monkeypatch.setattr(
        snippets.errors,
        "run_api_job",
        lambda job: Outcome(False, None, "nothing to act on"),
    )

    snippets.errors.main()

    assert capsys.readouterr().out == (
        "Do not run it again: nothing to act on\n"
    )


def test_running_the_module_with_a_bad_key_stops(
    fake_api, monkeypatch, run_main
):
    monkeypatch.setenv(settings.API_KEY_ENV, "wrong")

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.errors")

    assert str(exited.value.code).startswith(
        "Stop and fix the key: 401 unauthorized"
    )
    assert "wrong" not in str(exited.value.code)


def test_running_the_module_without_the_key_says_so(monkeypatch, run_main):
    monkeypatch.delenv(settings.API_KEY_ENV, raising=False)

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.errors")

    assert exited.value.code == f"Set {settings.API_KEY_ENV} to your API key."
