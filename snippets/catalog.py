"""The single source of truth for the platform's published values.

Event values, tracking status codes and error codes live here and nowhere else.
The docs build generates the Events, Tracking status codes and Errors tables
from this module, the fake API in ``tests/`` accepts exactly these values, and
a test reads the tables back out of the built HTML.
``tests/snippets/test_contract.py`` pins the values the platform publishes, so
an accidental edit here fails the suite.

``OPERATIONS`` is the API model: every call the API serves, with its request
and answer schemas (names in ``snippets.schemas.SCHEMAS``) and the errors it
can answer with. The fake API routes by it, and the Reference pages and
``openapi.json`` are generated from it.
"""

from dataclasses import dataclass

from snippets import settings


@dataclass(frozen=True)
class Event:
    value: str  # what the API accepts in "event"
    name: str  # what people call it
    trigger: str  # what makes the platform send it
    resource_type: str  # "resource_type" in the delivery body
    also_called: str = ""


@dataclass(frozen=True)
class TrackingStatus:
    code: str
    name: str
    meaning: str
    receiver_action: str
    final: bool  # no further updates are expected


@dataclass(frozen=True)
class ApiError:
    status: int
    error_code: str
    error_type: str
    meaning: str
    what_to_do: str
    retried: bool  # the client session retries it by itself


EVENTS: tuple[Event, ...] = (
    Event(
        "batch",
        "Batch completed",
        "A batch of shipping labels has finished processing.",
        "API_BATCH",
    ),
    Event(
        "rate",
        "Shipment rate updated",
        "The rate quoted for a shipment has changed.",
        "API_RATE",
    ),
    Event(
        "track",
        "Any tracking event",
        "A carrier reports a new scan or status for a tracked package.",
        "API_TRACK",
    ),
    Event(
        "carrier_connected",
        "Carrier connected",
        "A carrier account has been connected to your account.",
        "API_CARRIER_CONNECTED",
    ),
    Event(
        "sales_orders_imported",
        "Sales orders imported",
        "New sales orders have been imported into your account.",
        "API_SALES_ORDERS_IMPORTED",
    ),
    Event(
        "order_source_refresh_complete",
        "Order source refresh complete",
        "An order source (a connected store) has finished refreshing its"
        " data.",
        "API_ORDER_SOURCE_REFRESH_COMPLETE",
        also_called="Store refresh completed",
    ),
    Event(
        "report_complete",
        "Report complete",
        "A report you requested is ready to download.",
        "API_REPORT_COMPLETE",
    ),
)

TRACKING_STATUSES: tuple[TrackingStatus, ...] = (
    TrackingStatus(
        "NY",
        "Not yet in system",
        "The label exists but the carrier has not scanned the package yet.",
        "Nothing to tell the customer yet; wait for the first scan.",
        final=False,
    ),
    TrackingStatus(
        "AC",
        "Accepted",
        "The carrier has accepted the package.",
        "Mark the order as shipped and send the tracking link.",
        final=False,
    ),
    TrackingStatus(
        "IT",
        "In transit",
        "The package is moving through the carrier's network.",
        "Update the estimated delivery date if it changed.",
        final=False,
    ),
    TrackingStatus(
        "AT",
        "Delivery attempt",
        "The carrier tried to deliver the package and could not.",
        "Tell the customer what the carrier needs from them.",
        final=False,
    ),
    TrackingStatus(
        "EX",
        "Exception",
        "Something went wrong: damage, a bad address, a return to sender.",
        "Alert your support team and contact the customer.",
        final=False,
    ),
    TrackingStatus(
        "DE",
        "Delivered",
        "The package was delivered.",
        "Mark the order delivered and stop tracking it.",
        final=True,
    ),
    TrackingStatus(
        "SP",
        "Delivered to collection location",
        "The package was left at a pickup point or locker for collection.",
        "Send the customer the pickup location and opening hours.",
        final=True,
    ),
    TrackingStatus(
        "UN",
        "Unknown",
        "The carrier returned a status the platform cannot classify.",
        "Log it and wait for the next update; do not alarm the customer.",
        final=False,
    ),
)

ERRORS: tuple[ApiError, ...] = (
    ApiError(
        400,
        "request_body_required",
        "validation",
        "The request needs a JSON body and had none.",
        "Send the body with Content-Type: application/json.",
        retried=False,
    ),
    ApiError(
        400,
        "field_value_required",
        "validation",
        "A required field is missing; field_name says which.",
        "Add the field and send the request again.",
        retried=False,
    ),
    ApiError(
        400,
        "invalid_field_value",
        "validation",
        "A field has a value the API does not accept, or is not a known"
        " field.",
        "Fix the field named in field_name; the message says what is wrong.",
        retried=False,
    ),
    ApiError(
        401,
        "unauthorized",
        "security",
        "The API-Key header is missing or the key is not valid.",
        "Check the key in your environment; never retry with the same key.",
        retried=False,
    ),
    ApiError(
        404,
        "not_found",
        "validation",
        "No webhook (or other resource) has that id.",
        "List your webhooks to find the right id.",
        retried=False,
    ),
    ApiError(
        409,
        "webhook_event_type_conflict",
        "business_rules",
        "A webhook for that event already exists; each event takes one"
        " webhook.",
        "Find the existing webhook for the event and update its URL instead.",
        retried=False,
    ),
    ApiError(
        429,
        "rate_limit_exceeded",
        "system",
        "Too many requests: the limit is 200 a minute.",
        "Wait the number of seconds in Retry-After, then retry.",
        retried=True,
    ),
    ApiError(
        500,
        "unspecified",
        "system",
        "The platform failed while handling the request.",
        "Retry with backoff; report the request_id if it persists.",
        retried=True,
    ),
    ApiError(
        503,
        "service_unavailable",
        "system",
        "The platform is briefly unavailable.",
        "Retry with backoff, honouring Retry-After when it is sent.",
        retried=True,
    ),
)

RATE_LIMIT_PER_MINUTE = 200

# Answers from the gateway in front of the API, with no body and no error
# code; every call can meet them, and the client session retries them.
GATEWAY_STATUSES: tuple[int, ...] = (502, 504)


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path" or "query"
    description: str
    example: str


@dataclass(frozen=True)
class Operation:
    """One call of the API."""

    operation_id: str
    method: str
    path: str  # "{name}" stands for a path parameter
    tag: str  # the group it is listed under
    summary: str
    description: str
    success_status: int
    response_schema: str | None  # the answer's body; None: no body
    errors: tuple[str, ...]  # error codes from ERRORS, in status order
    request_schema: str | None = None  # the JSON body it takes, if any
    parameters: tuple[Parameter, ...] = ()
    authenticated: bool = True  # needs the API-Key header

    @property
    def rate_limited(self) -> bool:
        """Counts against RATE_LIMIT_PER_MINUTE."""
        return "rate_limit_exceeded" in self.errors


# Every request can meet these: the rate limit and the platform's own faults.
_ANY_CALL = ("rate_limit_exceeded", "unspecified", "service_unavailable")
_KEYED = ("unauthorized", *_ANY_CALL)
_BODY = (
    "request_body_required",
    "field_value_required",
    "invalid_field_value",
)
_WEBHOOK = "/{webhook_id}"
_WEBHOOK_ID = Parameter(
    "webhook_id",
    "path",
    "The webhook's id, as the create call or the list returned it.",
    "5519",
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "list_webhooks",
        "GET",
        settings.WEBHOOKS_PATH,
        "Webhooks",
        "List webhooks",
        "Every active webhook of the account, at most one per event, so the"
        " list needs no paging.",
        200,
        "webhook_list",
        _KEYED,
    ),
    Operation(
        "create_webhook",
        "POST",
        settings.WEBHOOKS_PATH,
        "Webhooks",
        "Create a webhook",
        "Subscribes a URL to one event. Each event takes one webhook: a"
        " second one for the same event is refused with a conflict.",
        200,
        "webhook",
        (*_BODY, "unauthorized", "webhook_event_type_conflict", *_ANY_CALL),
        request_schema="create_webhook_request",
    ),
    Operation(
        "get_webhook",
        "GET",
        settings.WEBHOOKS_PATH + _WEBHOOK,
        "Webhooks",
        "Get a webhook",
        "One webhook, by its id.",
        200,
        "webhook",
        ("unauthorized", "not_found", *_ANY_CALL),
        parameters=(_WEBHOOK_ID,),
    ),
    Operation(
        "update_webhook",
        "PUT",
        settings.WEBHOOKS_PATH + _WEBHOOK,
        "Webhooks",
        "Update a webhook",
        "Changes where a webhook sends, its headers, name or store. Its"
        " event never changes: delete the webhook and create another.",
        204,
        None,
        (*_BODY, "unauthorized", "not_found", *_ANY_CALL),
        request_schema="update_webhook_request",
        parameters=(_WEBHOOK_ID,),
    ),
    Operation(
        "delete_webhook",
        "DELETE",
        settings.WEBHOOKS_PATH + _WEBHOOK,
        "Webhooks",
        "Delete a webhook",
        "Removes a webhook for good; the event's deliveries stop.",
        204,
        None,
        ("unauthorized", "not_found", *_ANY_CALL),
        parameters=(_WEBHOOK_ID,),
    ),
    Operation(
        "get_tracking_info",
        "GET",
        settings.TRACKING_PATH,
        "Tracking",
        "Get a package's tracking information",
        "The package's latest tracking record: what a track delivery's"
        " resource_url points at.",
        200,
        "tracking_info",
        ("field_value_required", "unauthorized", "not_found", *_ANY_CALL),
        parameters=(
            Parameter(
                "carrier_code",
                "query",
                "The carrier's code.",
                "usps",
            ),
            Parameter(
                "tracking_number",
                "query",
                "The carrier's tracking number for the package.",
                "9405511899223197428490",
            ),
        ),
    ),
    Operation(
        "get_signing_keys",
        "GET",
        settings.JWKS_PATH,
        "Signing keys",
        "Get the public keys deliveries are signed with",
        "The platform's public keys as a JSON Web Key Set (JWKS). The key id"
        " header of a delivery names the key that signed it. Public: no API"
        " key needed.",
        200,
        "jwks",
        _ANY_CALL,
        authenticated=False,
    ),
)


@dataclass(frozen=True)
class DeliveryHeader:
    name: str
    holds: str


# What the platform sends with every delivery, besides Content-Type.
DELIVERY_HEADERS: tuple[DeliveryHeader, ...] = (
    DeliveryHeader(
        settings.KEY_ID_HEADER,
        "The id of the key that signed the delivery: one of the keys the"
        " JWKS lists.",
    ),
    DeliveryHeader(
        settings.SIGNATURE_HEADER,
        "The signature, base64-encoded (standard alphabet, with padding).",
    ),
    DeliveryHeader(
        settings.TIMESTAMP_HEADER,
        "When the delivery was sent, in whole seconds since 1970-01-01 UTC.",
    ),
)
SIGNED_TEXT = "{timestamp}.{raw body}"  # the timestamp header's value, a dot
SIGNATURE_ALGORITHM = "RSA-SHA256, PKCS#1 v1.5 padding"

EVENT_VALUES: frozenset[str] = frozenset(e.value for e in EVENTS)
STATUS_CODES: frozenset[str] = frozenset(s.code for s in TRACKING_STATUSES)
ERROR_CODES: frozenset[str] = frozenset(e.error_code for e in ERRORS)


def event(value: str) -> Event:
    """The event whose API value is ``value``."""
    return next(e for e in EVENTS if e.value == value)


def error(error_code: str) -> ApiError:
    """The error whose ``error_code`` is ``error_code``."""
    return next(e for e in ERRORS if e.error_code == error_code)


def operation(operation_id: str) -> Operation:
    """The operation called ``operation_id``."""
    return next(o for o in OPERATIONS if o.operation_id == operation_id)


# ------------------------------------------------------------ delivery rules
# How the platform delivers, each rule with where it is stated. A rule the
# platform publishes no number for has the value None, and pages say so.
@dataclass(frozen=True)
class DeliveryRule:
    name: str
    value: int | None  # in ``unit``; None: no published number
    unit: str
    source: str


_GUIDES = (
    "The platform's webhook guides: up to 3 attempts, about 2 hours apart."
)
DELIVERY_RULES: tuple[DeliveryRule, ...] = (
    DeliveryRule(
        "answer_timeout",
        None,
        "seconds",
        "Not published. The platform waits a limited time for an answer and"
        " counts one that comes too late as a failure.",
    ),
    DeliveryRule("attempts", 3, "attempts", _GUIDES),
    DeliveryRule("retry_interval", 2, "hours", _GUIDES),
    DeliveryRule(
        "gives_up_after",
        4,
        "hours",
        "Follows from the two above: the last attempt comes about 4 hours"
        " after the first; then the delivery is dropped.",
    ),
)


def delivery_rule(name: str) -> DeliveryRule:
    """The delivery rule called ``name``."""
    return next(r for r in DELIVERY_RULES if r.name == name)


# What the platform counts as delivered: an answer with one of these statuses
# before it stops waiting. Any other status, and a connection refused, reset
# or silent for too long, is a failed attempt, retried as DELIVERY_RULES say.
DELIVERED_STATUSES = range(200, 300)
DELIVERED_SOURCE = (
    "The platform's webhook guides: any status outside 2xx is a failure."
)
