"""Test code that manages webhooks without a network, a key or an account.

This is a pytest module. It tests ``ensure_webhook`` from the Create a webhook
page (the program below carries it; put your own code in its place and keep
the tests). requests-mock's pytest plugin provides the ``requests_mock``
fixture once the package is installed.

Run it: ``pytest testing.py``
"""

from typing import Any

import pytest
from requests_mock import Mocker

from snippets.client import ApiError, api_session
from snippets.create_webhook import ensure_webhook
from snippets.settings import API_BASE, API_KEY_ENV


# --8<-- [start:tests]
# --8<-- [start:setup]
WEBHOOKS = f"{API_BASE}/v1/environment/webhooks"
MY_URL = "https://example.com/webhooks"


def api_error(
    error_code: str, error_type: str, message: str
) -> dict[str, Any]:
    """An error body in the platform's shape."""
    return {
        "request_id": "5a4a6bd5-9f5e-4a3b-8d0e-1c2b3a4d5e6f",
        "errors": [
            {
                "error_source": "yourstore",
                "error_type": error_type,
                "error_code": error_code,
                "message": message,
            }
        ],
    }


@pytest.fixture
def api(requests_mock: Mocker, monkeypatch: pytest.MonkeyPatch) -> Mocker:
    """The API, mocked: any request not registered in a test fails it."""
    monkeypatch.setenv(API_KEY_ENV, "test-key")
    return requests_mock


# --8<-- [end:setup]


# --8<-- [start:create]
def test_creates_the_webhook(api: Mocker) -> None:
    api.post(
        WEBHOOKS, json={"webhook_id": "1", "url": MY_URL, "event": "track"}
    )

    webhook = ensure_webhook(api_session(), MY_URL, "track")

    assert webhook == {"webhook_id": "1", "url": MY_URL, "event": "track"}
    sent = api.last_request
    assert sent.json() == {"url": MY_URL, "event": "track"}
    assert sent.headers["API-Key"] == "test-key"
    assert sent.timeout is not None  # without one, a call can hang forever


# --8<-- [end:create]


# --8<-- [start:conflict]
@pytest.fixture
def taken(api: Mocker) -> Mocker:
    """The API, where the event has a webhook already: a create gets 409."""
    conflict = api_error("webhook_event_type_conflict", "business_rules", "")
    api.post(WEBHOOKS, status_code=409, json=conflict)
    return api


def test_moves_the_existing_webhook_after_a_409(taken: Mocker) -> None:
    old = {"webhook_id": "7", "url": "https://old.example/h", "event": "track"}
    taken.get(WEBHOOKS, json=[old])
    put = taken.put(f"{WEBHOOKS}/7", status_code=204)

    webhook = ensure_webhook(api_session(), MY_URL, "track")

    assert webhook == {**old, "url": MY_URL}
    assert put.call_count == 1
    assert put.last_request.json() == {"url": MY_URL}


def test_changes_nothing_when_already_set_up(taken: Mocker) -> None:
    mine = {"webhook_id": "7", "url": MY_URL, "event": "track"}
    taken.get(WEBHOOKS, json=[mine])

    ensure_webhook(api_session(), MY_URL, "track")

    assert [r.method for r in taken.request_history] == ["POST", "GET"]


# --8<-- [end:conflict]


# --8<-- [start:errors]
def test_a_bad_key_surfaces_the_api_s_message(api: Mocker) -> None:
    body = api_error("unauthorized", "security", "The API key is not valid.")
    api.post(WEBHOOKS, status_code=401, json=body)

    with pytest.raises(ApiError) as raised:
        ensure_webhook(api_session(), MY_URL, "track")

    assert raised.value.error_code == "unauthorized"
    assert raised.value.message == "The API key is not valid."


def test_retries_do_not_run_under_requests_mock(api: Mocker) -> None:
    """requests-mock replaces the transport, so the session's Retry never
    runs: the first 503 is the answer, even for a session that retries
    POST. Test retries against a real local server."""
    busy = api_error("service_unavailable", "system", "Try again.")
    api.post(WEBHOOKS, [{"status_code": 503, "json": busy}, {"json": {}}])

    with pytest.raises(ApiError) as raised:
        ensure_webhook(api_session(retry_post=True), MY_URL, "track")

    assert raised.value.status == 503
    assert api.call_count == 1


# --8<-- [end:errors]
# --8<-- [end:tests]
