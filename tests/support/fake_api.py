"""A faithful, stateful fake of the platform's webhooks API.

The logic lives in :meth:`FakeApi.handle`, which knows nothing of transports.
Tests serve it two ways:

* in-process through requests-mock (:meth:`FakeApi.install`), the default;
* over real HTTP on 127.0.0.1 (:meth:`FakeApi.wsgi_app`, see
  ``tests/support/servers.py``) where urllib3's own retry machinery has to
  run, which requests-mock bypasses.

It routes by the API model, ``snippets.catalog.OPERATIONS`` (the model the
Reference pages and ``openapi.json`` are generated from), validates request
bodies with the JSON Schemas of :mod:`snippets.schemas` (enumerations from
:mod:`snippets.catalog`), keeps webhooks across calls, enforces a per-minute
rate limit, can be told to inject 5xx faults, and answers in the platform's
error shape. Every answer is held to the model: its status, its schema, and
for an error, that the operation lists it. A request it does not know is
recorded in ``unexpected`` and the fixture that owns the fake fails the test.
"""

from __future__ import annotations

import json
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests_mock

from snippets import catalog, schemas, settings

TEST_API_KEY = "test-key-not-a-secret"


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, or None for an empty body
    schema: str | None = None  # the snippets.schemas name the body must match
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0
    data: Any = None  # the JSON body, once validated
    answer: Any = None  # the JSON body of the answer


@dataclass
class Shipment:
    """A tracked package whose events become visible as the fake clock passes
    them."""

    carrier_code: str
    tracking_number: str
    ship_date: str | None
    estimated_delivery_date: str | None
    # Oldest first, each with an "at" (fake-clock seconds):
    events: list[dict[str, Any]]
    label_id: str | None = None  # the label it was shipped with, if known


class FakeApi:
    def __init__(
        self,
        api_key: str = TEST_API_KEY,
        base_url: str = settings.API_BASE,
        rate_limit: int = catalog.RATE_LIMIT_PER_MINUTE,
        seed: int = 0,
    ) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.rate_limit = rate_limit
        self.now = 0.0  # fake clock, seconds; tests move it
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.shipments: dict[tuple[str, str], Shipment] = {}
        self.resources: dict[
            str, Any
        ] = {}  # extra GET paths -> JSON (resource_url)
        self.jwks: dict[str, Any] | None = None  # served at /jwks when set
        self.mocker: Any = None  # the requests-mock Mocker serving it, if any
        self.calls: list[Call] = []
        self.unexpected: list[Call] = []
        self._faults: list[tuple[int, str | None]] = []
        self._window_start = 0.0
        self._window_count = 0
        self._next_id = 5519
        self._random = random.Random(seed)

    # ---------------------------------------------------------- test controls
    def fail_next(
        self, status: int, times: int = 1, retry_after: str | None = None
    ) -> None:
        """Answer the next ``times`` requests with a system error (500 or
        503) or a gateway's (no body)."""
        assert status in (500, 503, *catalog.GATEWAY_STATUSES)
        self._faults.extend([(status, retry_after)] * times)

    def exhaust_rate_limit(self) -> None:
        """Spend what is left of this minute's requests: the next request
        is over the limit, as a burst would leave it."""
        if self.now - self._window_start >= 60:
            self._window_start = self.now
        self._window_count = self.rate_limit

    def add_shipment(self, shipment: Shipment) -> None:
        self.shipments[(shipment.carrier_code, shipment.tracking_number)] = (
            shipment
        )

    def advance(self, seconds: float) -> None:
        self.now += seconds

    # ------------------------------------------------------------- transports
    def install(self, mocker: Any) -> None:
        """Serve every request to the API base through ``handle``
        (requests-mock)."""

        def callback(request: Any, context: Any) -> bytes:
            split = urlsplit(request.url)
            response = self.handle(
                request.method,
                split.path,
                parse_qs(split.query, keep_blank_values=True),
                dict(request.headers),
                request.body or b"",
            )
            context.status_code = response.status
            context.headers.update(response.headers)
            return response.content()

        pattern = re.compile("^" + re.escape(self.base_url) + r"(/.*)?$")
        mocker.register_uri(requests_mock.ANY, pattern, content=callback)

    def wsgi_app(
        self, environ: dict[str, Any], start_response: Callable
    ) -> list:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        response = self.handle(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO", ""),
            parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers,
            body,
        )
        content = response.content()
        out_headers = [
            *response.headers.items(),
            ("Content-Length", str(len(content))),
        ]
        if response.body is not None:
            out_headers.append(("Content-Type", "application/json"))
        reason = HTTPStatus(response.status).phrase
        start_response(f"{response.status} {reason}", out_headers)
        return [content]

    # ------------------------------------------------------------------- core
    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes | str,
    ) -> Response:
        raw = body.encode() if isinstance(body, str) else body
        lower = {k.lower(): v for k, v in headers.items()}
        call = Call(method.upper(), path, dict(query), dict(headers), raw)
        self.calls.append(call)
        response = self._dispatch(call, lower)
        call.status, call.answer = response.status, response.body
        if response.schema is not None:
            broken = schemas.problems(response.schema, response.body)
            assert not broken, f"the fake answered off-schema: {broken}"
        return response

    def _dispatch(self, call: Call, headers: Mapping[str, str]) -> Response:
        route = self._route(call.method, call.path)
        if route is None:
            self.unexpected.append(call)
            allowed = self._methods(call.path)
            if allowed and call.method not in allowed:
                # A path the API serves, with a method it does not
                return Response(405, headers={"Allow": ", ".join(allowed)})
            return self.error(
                404, "not_found", f"No route for {call.method} {call.path}"
            )
        operation, handler, args = route
        response = self._answer(call, headers, operation, handler, args)
        if operation is not None:
            self._check_against_the_model(operation, response)
        return response

    def _answer(
        self,
        call: Call,
        headers: Mapping[str, str],
        operation: catalog.Operation | None,
        handler: Callable,
        args: tuple,
    ) -> Response:
        if self._faults:
            return self._next_fault()
        refused = self._admit(headers, operation)
        if refused is not None:
            return refused
        if operation is not None:
            invalid = self._check_the_request(call, headers, operation)
            if invalid is not None:
                return invalid
        return handler(call, headers, *args)

    def _next_fault(self) -> Response:
        """The answer ``fail_next`` planted for this request."""
        status, retry_after = self._faults.pop(0)
        if status in catalog.GATEWAY_STATUSES:
            response = Response(status)  # the gateway's: no JSON
        else:
            code = {503: "service_unavailable"}.get(status, "unspecified")
            response = self.error(
                status, code, "The service failed; try again."
            )
        if retry_after is not None:
            response.headers["Retry-After"] = retry_after
        return response

    def _admit(
        self, headers: Mapping[str, str], operation: catalog.Operation | None
    ) -> Response | None:
        """429 over the rate limit, 401 without the API key; None to go on.
        A request outside the model is counted and needs the key."""
        if operation is None or operation.rate_limited:
            limited = self._count_against_the_rate_limit()
            if limited is not None:
                return limited
        if (operation is None or operation.authenticated) and headers.get(
            "api-key"
        ) != self.api_key:
            return self.error(
                401,
                "unauthorized",
                "The request is missing a valid API key in the API-Key header.",
            )
        return None

    def _check_the_request(
        self,
        call: Call,
        headers: Mapping[str, str],
        operation: catalog.Operation,
    ) -> Response | None:
        """400 for a required query parameter missing, or a body that is
        missing, not a JSON object or off the operation's schema; None to go
        on, with ``call.data`` set to the body when the operation takes one."""
        for parameter in operation.parameters:
            if (
                parameter.location == "query"
                and not call.query.get(parameter.name, [""])[0]
            ):
                return self.error(
                    400,
                    "field_value_required",
                    f"{parameter.name} is required.",
                    field_name=parameter.name,
                )
        if operation.request_schema is not None:
            data = self._json_body(call, headers)
            if isinstance(data, Response):
                return data
            problem = self._validate(data, operation.request_schema)
            if problem is not None:
                return problem
            call.data = data
        return None

    def _count_against_the_rate_limit(self) -> Response | None:
        if self.now - self._window_start >= 60:
            self._window_start, self._window_count = self.now, 0
        self._window_count += 1
        if self._window_count <= self.rate_limit:
            return None
        wait = max(1, math.ceil(60 - (self.now - self._window_start)))
        response = self.error(
            429,
            "rate_limit_exceeded",
            f"Over {self.rate_limit} requests a minute: wait as"
            " Retry-After says.",
        )
        response.headers["Retry-After"] = str(wait)
        return response

    @staticmethod
    def _check_against_the_model(
        operation: catalog.Operation, response: Response
    ) -> None:
        """An answer the model does not document is a bug in the fake."""
        if response.status in catalog.GATEWAY_STATUSES:
            return
        if response.status == operation.success_status:
            assert response.schema == operation.response_schema, (
                operation.operation_id,
                response.schema,
            )
            return
        assert isinstance(response.body, dict), (
            operation.operation_id,
            response.status,
        )
        code = response.body["errors"][0]["error_code"]
        assert code in operation.errors, (operation.operation_id, code)

    def operation_for(
        self, method: str, path: str
    ) -> catalog.Operation | None:
        """The operation of the model that serves ``method`` ``path``."""
        route = self._route(method, path)
        return route[0] if route else None

    @staticmethod
    def _methods(path: str) -> list[str]:
        """The methods the model serves at ``path``."""
        return [o.method for o, pattern in _ROUTES if pattern.match(path)]

    def route(self, method: str, path: str) -> tuple[Callable, tuple] | None:
        """The handler that serves ``method`` ``path`` and its path
        parameters; None for a request the API does not serve."""
        found = self._route(method, path)
        return None if found is None else found[1:]

    def _route(
        self, method: str, path: str
    ) -> tuple[catalog.Operation | None, Callable, tuple] | None:
        """The operation of the model that serves ``method`` ``path``, its
        handler and its path parameters; None for a request the API does
        not serve. Operations are matched in the model's order."""
        for operation, pattern in _ROUTES:
            match = pattern.match(path)
            if not match or method != operation.method:
                continue
            if (
                operation.operation_id == "get_signing_keys"
                and self.jwks is None
            ):
                continue  # served once a test publishes keys
            handler = getattr(self, "_" + operation.operation_id)
            return operation, handler, match.groups()
        if method == "GET":
            # The resource a thin delivery names, and a label's tracking
            # (the resource_url of a track delivery): not calls of the model.
            match = LABEL_TRACKING.match(path)
            if match:
                return None, self._get_label_tracking, match.groups()
            if path in self.resources:
                return None, self._get_resource, (path,)
        return None

    # ----------------------------------------------------------------- errors
    def error(
        self,
        status: int,
        error_code: str,
        message: str,
        field_name: str | None = None,
    ) -> Response:
        spec = catalog.error(error_code)
        assert spec.status == status, (error_code, status)
        detail: dict[str, Any] = {
            "error_source": settings.PRODUCT_SLUG,
            "error_type": spec.error_type,
            "error_code": error_code,
            "message": message,
        }
        if field_name is not None:
            detail["field_name"] = field_name
        request_id = str(
            uuid.UUID(int=self._random.getrandbits(128), version=4)
        )
        return Response(
            status, {"request_id": request_id, "errors": [detail]}, "error"
        )

    def _json_body(
        self, call: Call, headers: Mapping[str, str]
    ) -> Any | Response:
        if not call.body.strip():
            return self.error(
                400, "request_body_required", "The request body is required."
            )
        content_type = headers.get("content-type", "")
        if "json" not in content_type.lower():
            return self.error(
                400,
                "invalid_field_value",
                "The request body must be sent as Content-Type: application/json.",
            )
        try:
            data = json.loads(call.body)
        except ValueError:
            return self.error(
                400,
                "invalid_field_value",
                "The request body is not valid JSON.",
            )
        if not isinstance(data, dict):
            return self.error(
                400,
                "invalid_field_value",
                "The request body must be a JSON object.",
            )
        return data

    def _validate(self, data: dict[str, Any], schema: str) -> Response | None:
        """The platform's answer to a body that breaks ``schema``, if any.

        The request schemas are those of ``snippets.schemas``. What breaks
        them maps to the platform's codes, each with the ``field_name`` at
        fault: a missing field is ``field_value_required``; an unknown field
        or a wrong value is ``invalid_field_value``.
        """
        if schemas.validator(schema).is_valid(data):
            return None
        spec = schemas.SCHEMAS[schema]
        fields = list(spec["properties"])
        unknown = sorted(set(data) - set(fields))
        if unknown:
            return self.error(
                400,
                "invalid_field_value",
                f"'{unknown[0]}' is not a known field.",
                field_name=unknown[0],
            )
        missing = [f for f in spec["required"] if f not in data]
        if missing:
            return self.error(
                400,
                "field_value_required",
                f"{missing[0]} is required.",
                field_name=missing[0],
            )
        wrong = next(
            f for f in fields if f in data and not self._fits(spec, f, data)
        )
        if wrong == "event":
            accepted = ", ".join(e.value for e in catalog.EVENTS)
            message = f"'{data[wrong]}' is not a valid event. Use one of: "
            message += f"{accepted}."
        else:
            expected = spec["properties"][wrong]["x-expected"]
            message = f"{wrong} must be {expected}."
        return self.error(
            400, "invalid_field_value", message, field_name=wrong
        )

    @staticmethod
    def _fits(spec: dict[str, Any], name: str, data: dict[str, Any]) -> bool:
        one_field = {"properties": {name: spec["properties"][name]}}
        return schemas.Draft202012Validator(
            one_field,
            format_checker=schemas.Draft202012Validator.FORMAT_CHECKER,
        ).is_valid({name: data[name]})

    # --------------------------------------------------------------- handlers
    # One per operation of the model, named after its operation_id; each gets
    # the call (with its body in ``data`` once validated), the headers and
    # the path parameters.
    def _list_webhooks(
        self, call: Call, headers: Mapping[str, str]
    ) -> Response:
        return Response(
            200,
            [dict(hook) for hook in self.webhooks.values()],
            "webhook_list",
        )

    def _create_webhook(
        self, call: Call, headers: Mapping[str, str]
    ) -> Response:
        data = call.data
        event = data["event"]
        if any(hook["event"] == event for hook in self.webhooks.values()):
            return self.error(
                409,
                "webhook_event_type_conflict",
                f"The '{event}' event already has a webhook.",
            )
        webhook_id = str(self._next_id)
        self._next_id += 1
        hook: dict[str, Any] = {"webhook_id": webhook_id}
        self._apply(hook, data)
        self.webhooks[webhook_id] = hook
        return Response(200, dict(hook), "webhook")

    def _missing(self, webhook_id: str) -> Response:
        return self.error(
            404, "not_found", f"No webhook has the id '{webhook_id}'."
        )

    def _get_webhook(
        self, call: Call, headers: Mapping[str, str], webhook_id: str
    ) -> Response:
        if webhook_id not in self.webhooks:
            return self._missing(webhook_id)
        return Response(200, dict(self.webhooks[webhook_id]), "webhook")

    def _update_webhook(
        self, call: Call, headers: Mapping[str, str], webhook_id: str
    ) -> Response:
        if webhook_id not in self.webhooks:
            return self._missing(webhook_id)
        self._apply(self.webhooks[webhook_id], call.data)
        return Response(204)

    @staticmethod
    def _apply(hook: dict[str, Any], data: dict[str, Any]) -> None:
        """Set the fields a create or an update sent (already validated, so
        any field the schema has); an empty list of headers removes them."""
        for name, value in data.items():
            if name == "headers" and not value:
                hook.pop(name, None)
            else:
                hook[name] = value

    def _delete_webhook(
        self, call: Call, headers: Mapping[str, str], webhook_id: str
    ) -> Response:
        if self.webhooks.pop(webhook_id, None) is None:
            return self._missing(webhook_id)
        return Response(204)

    def _get_signing_keys(
        self, call: Call, headers: Mapping[str, str]
    ) -> Response:
        return Response(200, self.jwks, "jwks")

    def _get_resource(
        self, call: Call, headers: Mapping[str, str], path: str
    ) -> Response:
        return Response(200, self.resources[path])

    def _get_label_tracking(
        self, call: Call, headers: Mapping[str, str], label_id: str
    ) -> Response:
        found = [s for s in self.shipments.values() if s.label_id == label_id]
        if not found:
            return self.error(
                404, "not_found", f"No label has the id '{label_id}'."
            )
        return Response(
            200, tracking_info(found[0], self.now), "tracking_info"
        )

    def _get_tracking_info(
        self, call: Call, headers: Mapping[str, str]
    ) -> Response:
        key = (call.query["carrier_code"][0], call.query["tracking_number"][0])
        if key not in self.shipments:
            return self.error(
                404,
                "not_found",
                f"No shipment has tracking number '{key[1]}' with carrier '{key[0]}'.",
            )
        return Response(
            200, tracking_info(self.shipments[key], self.now), "tracking_info"
        )


def sample_shipment() -> Shipment:
    """The package of the site's sample ``track`` delivery, delivered."""
    from snippets import payloads

    track = payloads.TRACK_DATA
    label_id = payloads.RESOURCE_PATHS["track"].split("/")[3]
    return Shipment(
        carrier_code="usps",
        tracking_number=track["tracking_number"],
        ship_date=track["ship_date"],
        estimated_delivery_date=track["estimated_delivery_date"],
        events=[{**event, "at": 0} for event in reversed(track["events"])],
        label_id=label_id,
    )


def _pattern(path: str) -> re.Pattern[str]:
    """A path of the model as a pattern: each ``{name}`` takes one segment,
    and a path without parameters may end in a slash."""
    regex = re.sub(r"\\\{(\w+)\\\}", "([^/]+)", re.escape(path))
    return re.compile(f"^{regex}$" if "{" in path else f"^{regex}/?$")


LABEL_TRACKING = re.compile(r"^/v1/labels/([^/]+)/track$")
_ROUTES = [(o, _pattern(o.path)) for o in catalog.OPERATIONS]
# A handler for every operation of the model, so none is left unserved.
assert all(hasattr(FakeApi, "_" + o.operation_id) for o in catalog.OPERATIONS)


def tracking_info(shipment: Shipment, now: float) -> dict[str, Any]:
    """The platform's tracking information for ``shipment`` as seen at
    ``now``."""
    seen = [event for event in shipment.events if event["at"] <= now]
    latest = seen[-1] if seen else None
    code = latest["status_code"] if latest else "NY"
    status = next(s for s in catalog.TRACKING_STATUSES if s.code == code)
    delivered = code in ("DE", "SP")
    return {
        "tracking_number": shipment.tracking_number,
        "carrier_code": shipment.carrier_code,
        "status_code": code,
        "status_description": status.name,
        "carrier_status_code": latest["carrier_status_code"] if latest else "",
        "carrier_status_description": latest["description"] if latest else "",
        "ship_date": shipment.ship_date,
        "estimated_delivery_date": shipment.estimated_delivery_date,
        "actual_delivery_date": latest["occurred_at"] if delivered else None,
        "exception_description": latest["description"]
        if code == "EX"
        else None,
        "events": [
            {k: v for k, v in event.items() if k != "at"}
            for event in reversed(seen)
        ],
    }
