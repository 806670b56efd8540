"""The contract: values the platform publishes, pinned as literals.

Nothing here is read from snippets/catalog.py, snippets/settings.py or a
generated page. If the catalog drifts from what the platform publishes, these
tests fail instead of the wrong value spreading silently to every table,
example and the fake API.
"""

import json
import runpy

import pytest

from snippets import catalog, client, schemas, settings
from tests.support.fake_api import FakeApi

PUBLISHED_EVENTS = {
    "batch": "API_BATCH",
    "rate": "API_RATE",
    "track": "API_TRACK",
    "carrier_connected": "API_CARRIER_CONNECTED",
    "sales_orders_imported": "API_SALES_ORDERS_IMPORTED",
    "order_source_refresh_complete": "API_ORDER_SOURCE_REFRESH_COMPLETE",
    "report_complete": "API_REPORT_COMPLETE",
}
PUBLISHED_STATUS_CODES = {"AC", "IT", "DE", "EX", "UN", "AT", "NY", "SP"}
PUBLISHED_ERRORS = {
    ("request_body_required", 400),
    ("field_value_required", 400),
    ("invalid_field_value", 400),
    ("unauthorized", 401),
    ("not_found", 404),
    ("webhook_event_type_conflict", 409),
    ("rate_limit_exceeded", 429),
    ("unspecified", 500),
    ("service_unavailable", 503),
}


def test_event_values_and_resource_types_are_the_published_ones():
    assert {
        e.value: e.resource_type for e in catalog.EVENTS
    } == PUBLISHED_EVENTS


def test_tracking_status_codes_are_the_published_ones():
    assert {
        s.code for s in catalog.TRACKING_STATUSES
    } == PUBLISHED_STATUS_CODES


def test_only_delivered_statuses_are_final():
    assert {s.code for s in catalog.TRACKING_STATUSES if s.final} == {
        "DE",
        "SP",
    }


def test_error_codes_and_statuses_are_the_published_ones():
    assert {
        (e.error_code, e.status) for e in catalog.ERRORS
    } == PUBLISHED_ERRORS


def test_the_rate_limit_is_200_requests_a_minute():
    assert catalog.RATE_LIMIT_PER_MINUTE == 200


def test_endpoint_paths_and_headers_are_the_published_ones():
    assert settings.WEBHOOKS_PATH == "/v1/environment/webhooks"
    assert settings.TRACKING_PATH == "/v1/tracking"
    assert settings.JWKS_PATH == "/jwks"
    assert settings.KEY_ID_HEADER == "x-yourstore-rsa-sha256-key-id"
    assert settings.SIGNATURE_HEADER == "x-yourstore-rsa-sha256-signature"
    assert settings.TIMESTAMP_HEADER == "x-yourstore-timestamp"
    assert settings.API_KEY_ENV == "YOURSTORE_API_KEY"


PUBLISHED_API_BASE = "https://api.yourstore.com"
PUBLISHED_KEY_HEADER = "API-Key"
PUBLISHED_ENDPOINTS = [
    ("GET", "/v1/environment/webhooks"),
    ("POST", "/v1/environment/webhooks"),
    ("GET", "/v1/environment/webhooks/5519"),
    ("PUT", "/v1/environment/webhooks/5519"),
    ("DELETE", "/v1/environment/webhooks/5519"),
    ("GET", "/v1/tracking"),
]


def test_the_api_base_is_the_published_one(monkeypatch):
    monkeypatch.delenv("YOURSTORE_API_BASE", raising=False)
    fresh = runpy.run_path(settings.__file__)

    assert fresh["API_BASE"] == PUBLISHED_API_BASE


def test_the_client_sends_the_key_in_the_published_header(api_key):
    assert client.api_session().headers[PUBLISHED_KEY_HEADER] == api_key


@pytest.mark.parametrize(("method", "path"), PUBLISHED_ENDPOINTS)
def test_the_fake_serves_each_published_endpoint(method, path):
    fake = FakeApi()

    response = fake.handle(
        method, path, {}, {PUBLISHED_KEY_HEADER: fake.api_key}, b""
    )

    assert not fake.unexpected, (method, path)
    assert response.status != 401, "the fake reads the key from another header"


def test_the_fake_refuses_a_request_without_the_published_key_header():
    fake = FakeApi()

    response = fake.handle("GET", "/v1/environment/webhooks", {}, {}, b"")

    assert response.status == 401
    assert response.body["errors"][0]["error_code"] == "unauthorized"


def test_the_delivery_rules_are_the_published_ones():
    """Up to 3 attempts about 2 hours apart (the platform's guides); no
    published answer timeout."""
    assert {r.name: (r.value, r.unit) for r in catalog.DELIVERY_RULES} == {
        "answer_timeout": (None, "seconds"),
        "attempts": (3, "attempts"),
        "retry_interval": (2, "hours"),
        "gives_up_after": (4, "hours"),
    }
    for rule in catalog.DELIVERY_RULES:
        assert rule.source.strip(), rule.name
    assert catalog.delivery_rule("answer_timeout").source.startswith(
        "Not published"
    )


# Per operation: the published success status, and for a call that takes a
# JSON body, its required and its optional fields (nothing else is accepted).
WEBHOOK = "/v1/environment/webhooks/{webhook_id}"
PUBLISHED_OPERATIONS = {
    ("GET", "/v1/environment/webhooks"): (200, None),
    ("POST", "/v1/environment/webhooks"): (
        200,
        ({"url", "event"}, {"headers", "name", "store_id"}),
    ),
    ("GET", WEBHOOK): (200, None),
    ("PUT", WEBHOOK): (204, ({"url"}, {"headers", "name", "store_id"})),
    ("DELETE", WEBHOOK): (204, None),
    ("GET", "/v1/tracking"): (200, None),
    ("GET", "/jwks"): (200, None),
}
PUBLISHED_QUERY = {"/v1/tracking": {"carrier_code", "tracking_number"}}
PUBLISHED_FIELD_TYPES = {
    "url": "string",
    "event": None,  # one of PUBLISHED_EVENTS
    "headers": "array",
    "name": "string",
    "store_id": "integer",
}


def _fields(schema_name: str | None) -> tuple[set, set] | None:
    if schema_name is None:
        return None
    schema = schemas.SCHEMAS[schema_name]
    required = set(schema["required"])
    return required, set(schema["properties"]) - required


def test_the_operations_are_the_published_ones():
    assert {
        (o.method, o.path): (o.success_status, _fields(o.request_schema))
        for o in catalog.OPERATIONS
    } == PUBLISHED_OPERATIONS


def test_query_parameters_are_the_published_ones():
    assert {
        o.path: {p.name for p in o.parameters if p.location == "query"}
        for o in catalog.OPERATIONS
        if any(p.location == "query" for p in o.parameters)
    } == PUBLISHED_QUERY


def test_only_the_signing_keys_are_public():
    assert {o.path for o in catalog.OPERATIONS if not o.authenticated} == {
        "/jwks"
    }


@pytest.mark.parametrize("schema_name", ["create_webhook_request", "webhook"])
def test_webhook_fields_have_the_published_types(schema_name):
    properties = schemas.SCHEMAS[schema_name]["properties"]
    for name, published in PUBLISHED_FIELD_TYPES.items():
        if published is None:
            assert set(properties[name]["enum"]) == set(PUBLISHED_EVENTS)
        else:
            assert properties[name]["type"] == published, name
    assert "additionalProperties" in schemas.SCHEMAS[schema_name]


def _create(fake: FakeApi, body: dict) -> int:
    return fake.handle(
        "POST",
        "/v1/environment/webhooks",
        {},
        {
            PUBLISHED_KEY_HEADER: fake.api_key,
            "Content-Type": "application/json",
        },
        json.dumps(body).encode(),
    ).status


def test_the_fake_takes_every_published_field_and_nothing_else():
    fake = FakeApi()
    every_field = {
        "url": "https://example.com/webhooks",
        "event": "batch",
        "headers": [{"key": "X-Shop", "value": "eu-1"}],
        "name": "Batches",
        "store_id": 12,
    }

    assert _create(fake, every_field) == 200
    assert _create(fake, {**every_field, "event": "rate"}) == 200
    assert _create(fake, {**every_field, "event": "track", "shop": 1}) == 400
    assert _create(fake, {"url": "https://example.com/webhooks"}) == 400
