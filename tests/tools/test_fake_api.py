"""The fake API itself: it must behave like the platform, or every other test lies."""

import io
import json

import pytest
import requests

from snippets import catalog, schemas, settings
from tests.support.fake_api import TEST_API_KEY, FakeApi

HOOKS = settings.API_BASE + settings.WEBHOOKS_PATH
KEY = {"API-Key": TEST_API_KEY}


def _error(response: requests.Response) -> tuple[int, str, str | None]:
    body = response.json()
    assert not schemas.problems("error", body)
    detail = body["errors"][0]
    return response.status_code, detail["error_code"], detail.get("field_name")


def test_every_error_names_a_fresh_request_id(fake_api):
    first = requests.get(HOOKS, timeout=5)
    second = requests.get(HOOKS, timeout=5)

    assert first.json()["request_id"] != second.json()["request_id"]


def test_request_ids_are_deterministic_per_seed():
    one, two = FakeApi(seed=7), FakeApi(seed=7)
    answers = [
        f.handle("GET", settings.WEBHOOKS_PATH, {}, {}, b"")
        for f in (one, two)
    ]

    assert answers[0].body == answers[1].body


@pytest.mark.parametrize(
    "headers", [{}, {"API-Key": "wrong"}, {"api-key": ""}]
)
def test_a_missing_or_wrong_key_is_401(fake_api, headers):
    response = requests.get(HOOKS, headers=headers, timeout=5)

    assert _error(response) == (401, "unauthorized", None)


def test_the_key_header_name_is_case_insensitive(fake_api):
    response = requests.get(
        HOOKS, headers={"api-key": TEST_API_KEY}, timeout=5
    )

    assert response.status_code == 200


JSON = "application/json"
OK_URL = "https://a.example"


def _body(**fields) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", JSON, (400, "request_body_required", None)),
        (b"{", JSON, (400, "invalid_field_value", None)),
        (b"[]", JSON, (400, "invalid_field_value", None)),
        (
            _body(url=OK_URL, event="batch"),
            "text/plain",
            (400, "invalid_field_value", None),
        ),
        (_body(event="batch"), JSON, (400, "field_value_required", "url")),
        (_body(url=OK_URL), JSON, (400, "field_value_required", "event")),
        (
            _body(url=5, event="batch"),
            JSON,
            (400, "invalid_field_value", "url"),
        ),
        (
            _body(url="a.example", event="batch"),
            JSON,
            (400, "invalid_field_value", "url"),
        ),
        (
            _body(url=OK_URL, event="Batch"),
            JSON,
            (400, "invalid_field_value", "event"),
        ),
        (
            _body(url=OK_URL, event="batch", x=1),
            JSON,
            (400, "invalid_field_value", "x"),
        ),
        (
            _body(url=OK_URL, event="batch", headers=[{"key": "a"}]),
            JSON,
            (400, "invalid_field_value", "headers"),
        ),
        (
            _body(url=OK_URL, event="batch", headers={"a": "b"}),
            JSON,
            (400, "invalid_field_value", "headers"),
        ),
        (
            _body(url=OK_URL, event="batch", name=3),
            JSON,
            (400, "invalid_field_value", "name"),
        ),
    ],
)
def test_create_validates_its_body(fake_api, body, content_type, expected):
    response = requests.post(
        HOOKS,
        data=body,
        headers={**KEY, "Content-Type": content_type},
        timeout=5,
    )

    assert _error(response) == expected
    assert not fake_api.webhooks


@pytest.mark.parametrize("event", [e.value for e in catalog.EVENTS])
def test_create_accepts_exactly_the_catalogued_events(fake_api, event):
    response = requests.post(
        HOOKS,
        json={"url": "https://a.example/h", "event": event},
        headers=KEY,
        timeout=5,
    )

    assert response.status_code == 200
    assert not schemas.problems("webhook", response.json())


def test_state_persists_across_calls(fake_api):
    body = {
        "url": "https://a.example/h",
        "event": "track",
        "name": "tracking",
        "headers": [{"key": "X-Source", "value": "yourstore"}],
    }
    created = requests.post(HOOKS, json=body, headers=KEY, timeout=5).json()
    hook_url = f"{HOOKS}/{created['webhook_id']}"

    assert requests.get(HOOKS, headers=KEY, timeout=5).json() == [created]
    assert requests.get(hook_url, headers=KEY, timeout=5).json() == created

    updated = requests.put(
        hook_url,
        json={"url": "https://b.example/h", "headers": []},
        headers=KEY,
        timeout=5,
    )
    assert (updated.status_code, updated.content) == (204, b"")
    assert requests.get(hook_url, headers=KEY, timeout=5).json() == {
        "webhook_id": created["webhook_id"],
        "url": "https://b.example/h",
        "event": "track",
        "name": "tracking",
    }

    deleted = requests.delete(hook_url, headers=KEY, timeout=5)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert requests.get(HOOKS, headers=KEY, timeout=5).json() == []
    assert _error(requests.get(hook_url, headers=KEY, timeout=5)) == (
        404,
        "not_found",
        None,
    )


def test_update_takes_no_event_and_needs_a_url(fake_api):
    created = requests.post(
        HOOKS,
        json={"url": "https://a.example/h", "event": "rate"},
        headers=KEY,
        timeout=5,
    ).json()
    hook_url = f"{HOOKS}/{created['webhook_id']}"

    answers = [
        requests.put(hook_url, json=body, headers=KEY, timeout=5)
        for body in (
            {"url": "https://b.example", "event": "batch"},
            {"url": "https://b.example", "event": "rate"},
            {"name": "x"},
        )
    ]

    assert [_error(a) for a in answers] == [
        (400, "invalid_field_value", "event"),
        (400, "invalid_field_value", "event"),
        (400, "field_value_required", "url"),
    ]


def test_store_id_is_an_optional_integer_on_create_and_update(fake_api):
    created = requests.post(
        HOOKS,
        json={"url": OK_URL, "event": "rate", "store_id": 12},
        headers=KEY,
        timeout=5,
    )
    hook_url = f"{HOOKS}/{created.json()['webhook_id']}"
    moved = requests.put(
        hook_url, json={"url": OK_URL, "store_id": 13}, headers=KEY, timeout=5
    )
    wrong = requests.put(
        hook_url,
        json={"url": OK_URL, "store_id": "13"},
        headers=KEY,
        timeout=5,
    )

    assert created.json()["store_id"] == 12
    assert moved.status_code == 204
    assert _error(wrong) == (400, "invalid_field_value", "store_id")
    stored = requests.get(hook_url, headers=KEY, timeout=5).json()
    assert stored["store_id"] == 13
    assert not schemas.problems("webhook", stored)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_ids_are_404(fake_api, method):
    response = requests.request(
        method,
        f"{HOOKS}/nope",
        json={"url": "https://a.example"},
        headers=KEY,
        timeout=5,
    )

    assert _error(response) == (404, "not_found", None)


def test_the_rate_limit_answers_429_with_retry_after_then_recovers(api_key):
    fake = FakeApi(api_key=api_key, rate_limit=3)
    call = lambda: fake.handle("GET", settings.WEBHOOKS_PATH, {}, KEY, b"")  # noqa: E731

    assert [call().status for _ in range(3)] == [200, 200, 200]
    fake.advance(20)
    limited = call()
    assert limited.status == 429
    assert limited.body["errors"][0]["error_code"] == "rate_limit_exceeded"
    assert limited.headers["Retry-After"] == "40"
    fake.advance(40)
    assert call().status == 200


def test_injected_faults_come_first_and_run_out(api_key):
    fake = FakeApi(api_key=api_key)
    fake.fail_next(503, times=2, retry_after="7")
    fake.fail_next(500)
    statuses = [
        fake.handle("GET", settings.WEBHOOKS_PATH, {}, KEY, b"")
        for _ in range(4)
    ]

    assert [r.status for r in statuses] == [503, 503, 500, 200]
    assert statuses[0].headers == {"Retry-After": "7"}
    assert [r.body["errors"][0]["error_code"] for r in statuses[:3]] == [
        "service_unavailable",
        "service_unavailable",
        "unspecified",
    ]


def test_an_unknown_route_is_recorded_so_the_test_fails():
    fake = FakeApi()
    response = fake.handle("GET", "/v1/environment/webhook", {}, KEY, b"")

    assert response.status == 404
    assert [c.path for c in fake.unexpected] == ["/v1/environment/webhook"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (400, "field_value_required", "carrier_code")),
        (
            {"carrier_code": ["usps"]},
            (400, "field_value_required", "tracking_number"),
        ),
        (
            {"carrier_code": ["usps"], "tracking_number": ["1"]},
            (404, "not_found", None),
        ),
    ],
)
def test_tracking_validates_its_query(api_key, query, expected):
    fake = FakeApi(api_key=api_key)
    response = fake.handle("GET", settings.TRACKING_PATH, query, KEY, b"")
    detail = response.body["errors"][0]

    assert (
        response.status,
        detail["error_code"],
        detail.get("field_name"),
    ) == expected


def test_jwks_and_resources_are_served_only_when_configured(api_key):
    fake = FakeApi(api_key=api_key)
    assert fake.handle("GET", settings.JWKS_PATH, {}, {}, b"").status == 404

    fake.jwks = {"keys": []}
    fake.resources["/v1/batches/se-1"] = {"batch_id": "se-1"}

    assert fake.handle("GET", settings.JWKS_PATH, {}, {}, b"").body == {
        "keys": []
    }
    assert fake.handle("GET", "/v1/batches/se-1", {}, KEY, b"").body == {
        "batch_id": "se-1"
    }
    assert fake.handle("GET", "/v1/batches/se-1", {}, {}, b"").status == 401


def test_the_wsgi_app_serves_the_same_logic(api_key):
    fake = FakeApi(api_key=api_key)
    body = json.dumps(
        {"url": "https://a.example/h", "event": "batch"}
    ).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": settings.WEBHOOKS_PATH,
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_API_KEY": api_key,
        "wsgi.input": io.BytesIO(body),
    }
    started = {}

    chunks = fake.wsgi_app(
        environ, lambda s, h: started.update(status=s, headers=h)
    )

    assert started["status"] == "200 OK"
    assert ("Content-Type", "application/json") in started["headers"]
    assert json.loads(b"".join(chunks))["webhook_id"] == "5519"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", settings.WEBHOOKS_PATH + "/5519", "GET, PUT, DELETE"),
        ("DELETE", settings.WEBHOOKS_PATH, "GET, POST"),
        ("POST", settings.TRACKING_PATH, "GET"),
    ],
)
def test_a_method_the_api_does_not_serve_is_405_with_allow(
    method, path, allow
):
    fake = FakeApi()
    response = fake.handle(method, path, {}, KEY, b"")

    assert (response.status, response.headers) == (405, {"Allow": allow})
    assert [c.method for c in fake.unexpected] == [method]


def test_every_operation_of_the_model_is_routed():
    fake = FakeApi()
    fake.jwks = {"keys": []}
    for operation in catalog.OPERATIONS:
        path = operation.path.replace("{webhook_id}", "5519")
        assert fake.operation_for(operation.method, path) is operation
    assert fake.operation_for("GET", settings.WEBHOOKS_PATH + "/") is (
        catalog.operation("list_webhooks")
    )
    assert fake.operation_for("GET", "/v1/environment/webhook") is None


def test_an_answer_the_model_does_not_document_is_a_bug_in_the_fake(
    monkeypatch,
):
    fake = FakeApi()
    monkeypatch.setattr(
        fake,
        "_list_webhooks",
        lambda call, headers: fake.error(404, "not_found", "gone"),
    )

    with pytest.raises(AssertionError, match="not_found"):
        fake.handle("GET", settings.WEBHOOKS_PATH, {}, KEY, b"")


def test_exhausting_the_rate_limit_answers_the_next_request_429(api_key):
    fake = FakeApi(api_key=api_key)
    fake.exhaust_rate_limit()
    limited = fake.handle("GET", settings.WEBHOOKS_PATH, {}, KEY, b"")
    fake.advance(60)
    again = fake.handle("GET", settings.WEBHOOKS_PATH, {}, KEY, b"")

    assert (limited.status, limited.headers["Retry-After"]) == (429, "60")
    assert again.status == 200


@pytest.mark.parametrize("status", catalog.GATEWAY_STATUSES)
def test_the_gateway_answers_without_a_body(status):
    fake = FakeApi()
    fake.fail_next(status)
    response = fake.handle("GET", settings.WEBHOOKS_PATH, {}, KEY, b"")

    assert (response.status, response.content()) == (status, b"")


def test_the_signing_keys_need_no_key_and_match_their_schema():
    fake = FakeApi()
    fake.jwks = {
        "keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]
    }
    response = fake.handle("GET", settings.JWKS_PATH, {}, {}, b"")

    assert (response.status, response.schema) == (200, "jwks")
