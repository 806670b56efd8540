"""JSON Schemas of the API's objects and of webhook deliveries: one set for
everything.

The fake API's answers, the JSON examples on every page, the sample deliveries,
the receivers and the local sender are all checked against these schemas.
Enumerations come from :mod:`snippets.catalog`, so a value added there is
accepted everywhere.
"""

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from snippets import catalog, settings
from snippets.inbox import DELIVERY_SCHEMA as RECEIVER_DELIVERY
from snippets.payloads import TRACK_DATA, sample_delivery
from snippets.verify_signatures import VECTOR_JWKS

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
# No control character and nothing either regex dialect calls whitespace,
# spelled out: Python's re (the fake, the receivers) and JSON Schema's
# ECMA-262 (client tools) read \s differently, \x1c-\x1f for one.
_NOT_IN_URL = (
    r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f"
    r"\u205f\u3000\ufeff"
)
_HTTP_URL = {
    "type": "string",
    "pattern": rf"^https?://[^/?#{_NOT_IN_URL}]+[^{_NOT_IN_URL}]*$",
}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
_EVENT = {"enum": [e.value for e in catalog.EVENTS]}
_STATUS_CODE = {"enum": [s.code for s in catalog.TRACKING_STATUSES]}


def _field(schema: dict[str, Any], description: str, example: Any) -> dict:
    """``schema`` with what the field means and an example value: the
    Reference's field tables and ``openapi.json`` show both."""
    return {**schema, "description": description, "examples": [example]}


# "x-expected" says what a request field's value must be, in the words of the
# API's error messages ("url must be an absolute http or https URL.").
_HEADERS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "key": _field(_STRING, "The header's name.", "X-Shop"),
            "value": _field(_STRING, "The header's value.", "eu-1"),
        },
        "required": ["key", "value"],
        "additionalProperties": False,
    },
    "x-expected": 'a list of {"key": ..., "value": ...} strings',
}
_WEBHOOK_FIELDS: dict[str, Any] = {
    "url": _field(
        {**_HTTP_URL, "x-expected": "an absolute http or https URL"},
        "Your endpoint: where the platform sends the event's deliveries. An"
        " absolute https URL (http only for experiments).",
        "https://example.com/webhooks",
    ),
    "event": _field(
        {**_EVENT, "x-expected": "one of the events"},
        "The event the webhook subscribes to, by its API value.",
        "track",
    ),
    "headers": _field(
        _HEADERS,
        "Extra HTTP headers the platform adds to every delivery it sends,"
        " for routing in a load balancer or telling tenants apart.",
        [{"key": "X-Shop", "value": "eu-1"}],
    ),
    "name": _field(
        {**_STRING, "x-expected": "a string"},
        "A label for people.",
        "Tracking updates",
    ),
    "store_id": _field(
        {"type": "integer", "x-expected": "an integer"},
        "The id of one of your stores, to tie the webhook to it.",
        12,
    ),
}

WEBHOOK: dict[str, Any] = {
    "type": "object",
    "properties": {
        "webhook_id": _field(
            {"type": "string", "minLength": 1},
            "The webhook's id: keep it to change or delete the webhook. An"
            " opaque string that only happens to look like a number.",
            "5519",
        ),
        **_WEBHOOK_FIELDS,
    },
    "required": ["webhook_id", "url", "event"],
    "additionalProperties": False,
}

CREATE_WEBHOOK_REQUEST: dict[str, Any] = {
    "type": "object",
    "properties": _WEBHOOK_FIELDS,
    "required": ["url", "event"],
    "additionalProperties": False,
}

UPDATE_WEBHOOK_REQUEST: dict[str, Any] = {
    "type": "object",
    "properties": {k: v for k, v in _WEBHOOK_FIELDS.items() if k != "event"},
    "required": ["url"],
    "additionalProperties": False,
}

ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "request_id": _field(
            {"type": "string", "format": "uuid"},
            "The platform's id for this request. Log it; support asks for it.",
            "7b3c1f0e-2d4a-4c5b-9e8f-1a2b3c4d5e6f",
        ),
        "errors": _field(
            {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "error_source": _field(
                            _STRING,
                            "Which system refused the request:"
                            f" {settings.PRODUCT_SLUG} for the API itself.",
                            settings.PRODUCT_SLUG,
                        ),
                        "error_type": _field(
                            {
                                "enum": sorted(
                                    {e.error_type for e in catalog.ERRORS}
                                )
                            },
                            "The broad kind of error.",
                            "validation",
                        ),
                        "error_code": _field(
                            {"enum": [e.error_code for e in catalog.ERRORS]},
                            "The specific reason. Branch on this, never on"
                            " the message.",
                            "invalid_field_value",
                        ),
                        "message": _field(
                            {"type": "string", "minLength": 1},
                            "An explanation for people. Its wording may"
                            " change.",
                            "url must be an absolute http or https URL.",
                        ),
                        "field_name": _field(
                            _STRING,
                            "Present when one field is at fault: the field"
                            " to fix.",
                            "url",
                        ),
                    },
                    "required": [
                        "error_source",
                        "error_type",
                        "error_code",
                        "message",
                    ],
                    "additionalProperties": False,
                },
            },
            "One or more problems. The first one is the reason the call"
            " failed.",
            [
                {
                    "error_source": settings.PRODUCT_SLUG,
                    "error_type": "validation",
                    "error_code": "invalid_field_value",
                    "message": "url must be an absolute http or https URL.",
                    "field_name": "url",
                }
            ],
        ),
    },
    "required": ["request_id", "errors"],
    "additionalProperties": False,
}

_SCAN = TRACK_DATA["events"][0]
_WHERE = "Where the scan happened, when the carrier reports it: "
TRACKING_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "occurred_at": _field(
            _TIMESTAMP,
            "When the scan happened (UTC, ISO 8601).",
            _SCAN["occurred_at"],
        ),
        "description": _field(
            _STRING, "The scan in the carrier's words.", _SCAN["description"]
        ),
        "city_locality": _field(
            _STRING, _WHERE + "the city.", _SCAN["city_locality"]
        ),
        "state_province": _field(
            _STRING, _WHERE + "the state or province.", _SCAN["state_province"]
        ),
        "postal_code": _field(
            _STRING, _WHERE + "the postal code.", _SCAN["postal_code"]
        ),
        "country_code": _field(
            _STRING,
            _WHERE + "the two-letter country code.",
            _SCAN["country_code"],
        ),
        "status_code": _field(
            _STATUS_CODE,
            "The package's status after this scan: a tracking status code.",
            _SCAN["status_code"],
        ),
        "carrier_status_code": _field(
            _STRING,
            "The same status in the carrier's own code.",
            _SCAN["carrier_status_code"],
        ),
    },
    "required": ["occurred_at", "description", "status_code"],
    "additionalProperties": False,
}

TRACKING_INFO: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tracking_number": _field(
            {"type": "string", "minLength": 1},
            "The carrier's tracking number.",
            TRACK_DATA["tracking_number"],
        ),
        "carrier_code": _field(_STRING, "The carrier's code.", "usps"),
        "status_code": _field(
            _STATUS_CODE,
            "The package's current status: a tracking status code.",
            TRACK_DATA["status_code"],
        ),
        "status_description": _field(
            _STRING,
            "The name of that status.",
            TRACK_DATA["status_description"],
        ),
        "carrier_status_code": _field(
            _STRING,
            "The current status in the carrier's own code. Codes differ from"
            " carrier to carrier; rely on status_code for logic.",
            TRACK_DATA["carrier_status_code"],
        ),
        "carrier_status_description": _field(
            _STRING,
            "The current status in the carrier's own words.",
            TRACK_DATA["carrier_status_description"],
        ),
        "ship_date": _field(
            _NULLABLE_TIMESTAMP,
            "When the carrier first had the package, or null.",
            TRACK_DATA["ship_date"],
        ),
        "estimated_delivery_date": _field(
            _NULLABLE_TIMESTAMP,
            "The carrier's current estimate, or null. It can move in either"
            " direction.",
            TRACK_DATA["estimated_delivery_date"],
        ),
        "actual_delivery_date": _field(
            _NULLABLE_TIMESTAMP,
            "When the package was delivered, or null until then.",
            TRACK_DATA["actual_delivery_date"],
        ),
        "exception_description": _field(
            _NULLABLE_STRING,
            "What went wrong when the status is EX, otherwise null.",
            TRACK_DATA["exception_description"],
        ),
        "events": _field(
            {"type": "array", "items": TRACKING_EVENT},
            "Every scan so far, most recent first.",
            TRACK_DATA["events"][:1],
        ),
    },
    "required": [
        "tracking_number",
        "status_code",
        "status_description",
        "carrier_status_code",
        "carrier_status_description",
        "ship_date",
        "estimated_delivery_date",
        "actual_delivery_date",
        "exception_description",
        "events",
    ],
    "additionalProperties": False,
}

_B64URL = "base64url-encoded"
_VECTOR_KEY = VECTOR_JWKS["keys"][0]
JWK: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kty": _field(
            _STRING,
            "The key type: RSA for the keys deliveries are signed with.",
            _VECTOR_KEY["kty"],
        ),
        "kid": _field(
            _STRING,
            "The key's id: the key id header of the deliveries it signs.",
            _VECTOR_KEY["kid"],
        ),
        "use": _field(
            _STRING, "What the key is for: sig, signing.", _VECTOR_KEY["use"]
        ),
        "alg": _field(
            _STRING, "The algorithm it signs with.", _VECTOR_KEY["alg"]
        ),
        "n": _field(_STRING, f"The RSA modulus, {_B64URL}.", _VECTOR_KEY["n"]),
        "e": _field(
            _STRING, f"The RSA public exponent, {_B64URL}.", _VECTOR_KEY["e"]
        ),
    },
    "required": ["kty"],
}

JWKS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "keys": _field(
            {"type": "array", "items": JWK},
            "The public keys. Keys that are not RSA signing keys can be"
            " listed too; skip them.",
            VECTOR_JWKS["keys"],
        )
    },
    "required": ["keys"],
}


def _delivery(event: catalog.Event) -> dict[str, Any]:
    example = sample_delivery(event.value)
    properties: dict[str, Any] = {
        "resource_url": _field(
            _HTTP_URL,
            "The API URL of the object that changed. GET it with your API"
            " key for the details.",
            example["resource_url"],
        ),
        "resource_type": _field(
            {"const": event.resource_type},
            "Which event this is.",
            event.resource_type,
        ),
    }
    required = ["resource_url", "resource_type"]
    if event.value == "track":
        data = dict(TRACKING_INFO)
        data["required"] = [
            r for r in TRACKING_INFO["required"] if r != "carrier_code"
        ]
        properties["data"] = _field(
            data, "The package's tracking record.", example["data"]
        )
        required.append("data")
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


DELIVERIES: dict[str, dict[str, Any]] = {
    e.value: _delivery(e) for e in catalog.EVENTS
}

# Any delivery: exactly one event's schema matches (resource_type tells them
# apart).
DELIVERY: dict[str, Any] = {"oneOf": list(DELIVERIES.values())}

SCHEMAS: dict[str, dict[str, Any]] = {
    "webhook": WEBHOOK,
    "webhook_list": {"type": "array", "items": WEBHOOK},
    "create_webhook_request": CREATE_WEBHOOK_REQUEST,
    "update_webhook_request": UPDATE_WEBHOOK_REQUEST,
    "error": ERROR_BODY,
    "tracking_info": TRACKING_INFO,
    "jwks": JWKS,
    "delivery": DELIVERY,
    # What the receivers accept (snippets/inbox.py): the required core of
    # ``delivery``, open to fields and events the platform may add later.
    "receiver_delivery": RECEIVER_DELIVERY,
    **{f"delivery_{value}": schema for value, schema in DELIVERIES.items()},
}


@cache  # made once per schema: a validator is reusable and thread-safe
def validator(name: str) -> Draft202012Validator:
    """A validator for the schema called ``name`` (formats checked)."""
    return Draft202012Validator(
        SCHEMAS[name], format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def problems(name: str, instance: Any) -> list[str]:
    """Every way ``instance`` breaks the schema ``name``; [] if valid."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator(name).iter_errors(instance)
    ]
