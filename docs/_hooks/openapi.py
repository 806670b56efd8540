"""The webhooks API as an OpenAPI 3.1 document, built from the one model.

Every part comes from the sources of truth: operations, errors and delivery
headers from ``snippets.catalog``, bodies from ``snippets.schemas``, names and
the base URL from ``snippets.settings``, and examples from what the site
shows (``snippets.payloads``, the signature test vector of
``snippets.verify_signatures`` and the examples in the schemas). The answers a
receiver gives come from the table on the Receive deliveries page, the one
the receivers' tests hold both receivers to.

``docs/_hooks/reference.py`` writes it into the site as ``openapi.json``;
the tests load it from here and from the built site.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from pathlib import Path
from typing import Any

from snippets import catalog, payloads, schemas, settings
from snippets.verify_signatures import (
    VECTOR_BODY,
    VECTOR_JWKS,
    VECTOR_SIGNATURE,
    VECTOR_TIMESTAMP,
)

DOCS = Path(__file__).resolve().parents[1]
RECEIVE_PAGE = DOCS / "receive.md"
SECURITY_SCHEME = "api_key"
KEY_HEADER = "API-Key"
# The API's schemas; "receiver_delivery" is what the site's receivers accept,
# not part of the API.
COMPONENTS = [name for name in schemas.SCHEMAS if name != "receiver_delivery"]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _with_refs(node: Any, skip: str | None = None) -> Any:
    """``node`` with every copy of a component schema (the schemas embed
    each other) replaced by a ``$ref`` to it, so tools see one type."""
    if isinstance(node, dict):
        for name in COMPONENTS:
            if name != skip and node == schemas.SCHEMAS[name]:
                return ref(name)
        return {key: _with_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_refs(item) for item in node]
    return node


def component_schemas() -> dict[str, Any]:
    return {
        name: _with_refs(schemas.SCHEMAS[name], skip=name)
        for name in COMPONENTS
    }


# ---------------------------------------------------------------- examples
def object_example(name: str, every_field: bool = False) -> dict[str, Any]:
    """An object of schema ``name`` made of its fields' examples: the
    required ones, or all of them."""
    schema = schemas.SCHEMAS[name]
    return {
        field: spec["examples"][0]
        for field, spec in schema["properties"].items()
        if every_field or field in schema["required"]
    }


def success_example(operation: catalog.Operation) -> Any:
    name = operation.response_schema
    if name == "webhook_list":
        return [object_example("webhook", every_field=True)]
    if name == "tracking_info":
        track = payloads.sample_delivery("track")["data"]
        return {**track, "carrier_code": "usps"}
    if name == "jwks":
        return VECTOR_JWKS
    assert name is not None
    return object_example(name)


def error_example(error: catalog.ApiError) -> dict[str, Any]:
    detail = {
        "error_source": settings.PRODUCT_SLUG,
        "error_type": error.error_type,
        "error_code": error.error_code,
        "message": error.meaning,
    }
    return {
        "request_id": schemas.ERROR_BODY["properties"]["request_id"][
            "examples"
        ][0],
        "errors": [detail],
    }


# -------------------------------------------------------------- operations
def _parameter(parameter: catalog.Parameter) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "in": parameter.location,
        "required": True,
        "description": parameter.description,
        "schema": {"type": "string", "minLength": 1},
        "example": parameter.example,
    }


def _request_body(operation: catalog.Operation) -> dict[str, Any]:
    assert operation.request_schema is not None
    name = operation.request_schema
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": ref(name),
                "examples": {
                    "required": {
                        "summary": "The required fields",
                        "value": object_example(name),
                    },
                    "every_field": {
                        "summary": "Every field",
                        "value": object_example(name, every_field=True),
                    },
                },
            }
        },
    }


def _links(operation: catalog.Operation) -> dict[str, Any]:
    """Links from a success to the operations that take the same object's
    id in their path: from a create or a get (the id is in the answer) and
    from an update or a delete (the id was in the request's path), so a
    sequence can create, read, change and delete one webhook, and read it
    again after the delete."""
    name = operation.response_schema
    fields = schemas.SCHEMAS[name].get("properties", {}) if name else {}
    in_request = [p.name for p in operation.parameters if p.location == "path"]
    links = {}
    for other in catalog.OPERATIONS:
        in_path = [p.name for p in other.parameters if p.location == "path"]
        if not in_path:
            continue
        if all(p in fields for p in in_path):
            values = {p: f"$response.body#/{p}" for p in in_path}
        elif all(p in in_request for p in in_path):
            values = {p: f"$request.path.{p}" for p in in_path}
        else:
            continue
        links[other.operation_id] = {
            "operationId": other.operation_id,
            "parameters": values,
        }
    return links


def _error_responses(operation: catalog.Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in sorted({catalog.error(c).status for c in operation.errors}):
        errors = [
            catalog.error(c)
            for c in operation.errors
            if catalog.error(c).status == status
        ]
        codes = ", ".join(e.error_code for e in errors)
        response: dict[str, Any] = {
            "description": f"{HTTPStatus(status).phrase}: {codes}.",
            "content": {
                "application/json": {
                    "schema": ref("error"),
                    "examples": {
                        e.error_code: {
                            "summary": e.meaning,
                            "value": error_example(e),
                        }
                        for e in errors
                    },
                }
            },
        }
        # Retry-After: always on a 429, sometimes on a 503 (Errors and rate
        # limits).
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before the next try.",
                    "required": status == 429,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    "example": "42",
                }
            }
        responses[str(status)] = response
    for status in catalog.GATEWAY_STATUSES:
        responses[str(status)] = {
            "description": f"{HTTPStatus(status).phrase}, from the gateway in"
            " front of the API: no body. Retry with backoff."
        }
    return responses


def rate_limit_note(operation: catalog.Operation) -> str:
    if not operation.rate_limited:
        return ""
    return (
        f"Counts against the rate limit of {catalog.RATE_LIMIT_PER_MINUTE}"
        " requests a minute."
    )


def operation_object(operation: catalog.Operation) -> dict[str, Any]:
    success: dict[str, Any]
    if operation.response_schema is None:
        success = {"description": "Done. No body."}
    else:
        success = {
            "description": f"{HTTPStatus(operation.success_status).phrase}.",
            "content": {
                "application/json": {
                    "schema": ref(operation.response_schema),
                    "example": success_example(operation),
                }
            },
        }
    links = _links(operation)
    if links:
        success["links"] = links
    built: dict[str, Any] = {
        "operationId": operation.operation_id,
        "tags": [operation.tag],
        "summary": operation.summary,
        "description": " ".join(
            filter(None, [operation.description, rate_limit_note(operation)])
        ),
    }
    if operation.parameters:
        built["parameters"] = [_parameter(p) for p in operation.parameters]
    if operation.request_schema is not None:
        built["requestBody"] = _request_body(operation)
    built["responses"] = {
        str(operation.success_status): success,
        **_error_responses(operation),
    }
    if not operation.authenticated:
        built["security"] = []
    return built


def paths() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for operation in catalog.OPERATIONS:
        found.setdefault(operation.path, {})[operation.method.lower()] = (
            operation_object(operation)
        )
    return found


# ---------------------------------------------------------------- webhooks
def receiver_answers(page: Path = RECEIVE_PAGE) -> list[dict[str, str]]:
    """The rows of the table of answers on the Receive deliveries page:
    ``case``, ``arrived``, ``status`` and ``why`` each."""
    rows: list[list[str]] = []
    for line in page.read_text().splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows and "Answer" in rows[0]:
            break
        else:
            rows = []
    if not rows or "Answer" not in rows[0]:
        raise ValueError(f"{page}: no table with an Answer column")
    header = rows[0]
    found = []
    for row in rows[2:]:
        cells = dict(zip(header, row, strict=True))
        status = re.fullmatch(r"`(\d{3})`", cells["Answer"])
        if status is None:
            raise ValueError(f"{page}: {cells['Answer']!r} is not a status")
        found.append(
            {
                "case": cells["Case"].strip("*"),
                "arrived": cells["What arrived"],
                "status": status[1],
                "why": cells["Why"],
            }
        )
    return found


# What the receivers answer when they are at fault themselves (the Receive
# deliveries page, under its table): the platform sends the delivery again.
RECEIVER_FAULTS = (
    "The receiver is at fault: its signing keys cannot be fetched (503) or"
    " its store cannot be written (500). Nothing was stored; the platform"
    " sends the delivery again later."
)

VECTOR_HEADERS = {
    settings.KEY_ID_HEADER: VECTOR_JWKS["keys"][0]["kid"],
    settings.SIGNATURE_HEADER: VECTOR_SIGNATURE,
    settings.TIMESTAMP_HEADER: str(VECTOR_TIMESTAMP),
}


def _receiver_responses() -> dict[str, Any]:
    by_status: dict[str, list[dict[str, str]]] = {}
    for answer in receiver_answers():
        by_status.setdefault(answer["status"], []).append(answer)
    responses = {
        status: {
            "description": " ".join(
                f"**{a['case']}**: {a['arrived']}. {a['why']}" for a in answers
            )
        }
        for status, answers in sorted(by_status.items())
    }
    responses["5XX"] = {"description": RECEIVER_FAULTS}
    return responses


def webhook_object(event: catalog.Event) -> dict[str, Any]:
    vector_note = (
        " The examples are the site's test vector, which signs the compact"
        f" batch delivery {VECTOR_BODY.decode()}."
    )
    return {
        "post": {
            "operationId": f"receive_{event.value}",
            "tags": ["Deliveries"],
            "summary": event.name,
            "description": (
                f"{event.trigger} The platform POSTs the delivery to the URL"
                f" of your webhook for the `{event.value}` event, signed:"
                f" {catalog.SIGNATURE_ALGORITHM} over"
                f" `{catalog.SIGNED_TEXT}`, with a key from"
                f" {settings.API_BASE}{settings.JWKS_PATH}."
            ),
            "parameters": [
                {
                    "name": header.name,
                    "in": "header",
                    "required": True,
                    "description": header.holds + vector_note,
                    "schema": {"type": "string", "minLength": 1},
                    "example": VECTOR_HEADERS[header.name],
                }
                for header in catalog.DELIVERY_HEADERS
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": ref(f"delivery_{event.value}"),
                        "example": payloads.sample_delivery(event.value),
                    }
                },
            },
            "responses": _receiver_responses(),
            "security": [],
        }
    }


# ---------------------------------------------------------------- document
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the webhooks API."""
    tags = dict.fromkeys(o.tag for o in catalog.OPERATIONS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{settings.PRODUCT_NAME} webhooks API",
            "version": "1",
            "summary": "Subscribe to shipping events, manage the"
            " subscriptions, and receive signed deliveries.",
            "description": (
                "Create a webhook for an event and the platform sends a"
                " signed delivery to your URL each time the event happens."
                f" Every call but {settings.JWKS_PATH} needs your API key"
                f" in the {KEY_HEADER} header, and every call counts against"
                f" the rate limit of {catalog.RATE_LIMIT_PER_MINUTE}"
                " requests a minute. The `webhooks` section describes the"
                " deliveries: their body, their signature headers and the"
                " answers a receiver gives."
            ),
        },
        "servers": [{"url": settings.API_BASE}],
        "security": [{SECURITY_SCHEME: []}],
        "tags": [{"name": tag} for tag in [*tags, "Deliveries"]],
        "paths": paths(),
        "webhooks": {
            event.value: webhook_object(event) for event in catalog.EVENTS
        },
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": KEY_HEADER,
                    "description": "Your API key, from your account's API"
                    " settings. Keep it in the environment"
                    f" ({settings.API_KEY_ENV}), never in code.",
                }
            },
        },
    }


def text() -> str:
    """The document as ``openapi.json`` holds it."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
