"""JSON Schemas of the API's objects and of webhook deliveries: one set for
everything.

The fake API's answers, the JSON examples on every page, the sample deliveries,
the receivers and the local sender are all checked against these schemas.
Enumerations come from :mod:`snippets.catalog`, so a value added there is
accepted everywhere.
"""

from typing import Any

from jsonschema import Draft202012Validator

from snippets import catalog
from snippets.inbox import DELIVERY_SCHEMA as RECEIVER_DELIVERY

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_HTTP_URL = {"type": "string", "pattern": r"^https?://[^/\s?#]+\S*$"}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
_EVENT = {"enum": [e.value for e in catalog.EVENTS]}
_STATUS_CODE = {"enum": [s.code for s in catalog.TRACKING_STATUSES]}
_HEADERS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"key": _STRING, "value": _STRING},
        "required": ["key", "value"],
        "additionalProperties": False,
    },
}

_URL = {
    **_HTTP_URL,
    "description": "an absolute http or https URL",
}
_WEBHOOK_FIELDS: dict[str, Any] = {
    "url": _URL,
    "event": {**_EVENT, "description": "one of the events"},
    "headers": {
        **_HEADERS,
        "description": 'a list of {"key": ..., "value": ...} strings',
    },
    "name": {**_STRING, "description": "a string"},
    "store_id": {"type": "integer", "description": "an integer"},
}

WEBHOOK: dict[str, Any] = {
    "type": "object",
    "properties": {
        "webhook_id": {"type": "string", "minLength": 1},
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
        "request_id": {"type": "string", "format": "uuid"},
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "error_source": _STRING,
                    "error_type": {
                        "enum": sorted({e.error_type for e in catalog.ERRORS})
                    },
                    "error_code": {
                        "enum": [e.error_code for e in catalog.ERRORS]
                    },
                    "message": {"type": "string", "minLength": 1},
                    "field_name": _STRING,
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
    },
    "required": ["request_id", "errors"],
    "additionalProperties": False,
}

TRACKING_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "occurred_at": _TIMESTAMP,
        "description": _STRING,
        "city_locality": _STRING,
        "state_province": _STRING,
        "postal_code": _STRING,
        "country_code": _STRING,
        "status_code": _STATUS_CODE,
        "carrier_status_code": _STRING,
    },
    "required": ["occurred_at", "description", "status_code"],
    "additionalProperties": False,
}

TRACKING_INFO: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tracking_number": {"type": "string", "minLength": 1},
        "carrier_code": _STRING,
        "status_code": _STATUS_CODE,
        "status_description": _STRING,
        "carrier_status_code": _STRING,
        "carrier_status_description": _STRING,
        "ship_date": _NULLABLE_TIMESTAMP,
        "estimated_delivery_date": _NULLABLE_TIMESTAMP,
        "actual_delivery_date": _NULLABLE_TIMESTAMP,
        "exception_description": _NULLABLE_STRING,
        "events": {"type": "array", "items": TRACKING_EVENT},
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


def _delivery(event: catalog.Event) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "resource_url": _HTTP_URL,
        "resource_type": {"const": event.resource_type},
    }
    required = ["resource_url", "resource_type"]
    if event.value == "track":
        data = dict(TRACKING_INFO)
        data["required"] = [
            r for r in TRACKING_INFO["required"] if r != "carrier_code"
        ]
        properties["data"] = data
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
    "delivery": DELIVERY,
    # What the receivers accept (snippets/inbox.py): the required core of
    # ``delivery``, open to fields and events the platform may add later.
    "receiver_delivery": RECEIVER_DELIVERY,
    **{f"delivery_{value}": schema for value, schema in DELIVERIES.items()},
}


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
