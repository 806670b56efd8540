"""The single source of truth for the platform's published values.

Event values, tracking status codes and error codes live here and nowhere else.
The docs build generates the Events, Tracking status codes and Errors tables
from this module, the fake API in ``tests/`` accepts exactly these values, and
a test reads the tables back out of the built HTML.
``tests/snippets/test_contract.py`` pins the values the platform publishes, so
an accidental edit here fails the suite.
"""

from dataclasses import dataclass


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

EVENT_VALUES: frozenset[str] = frozenset(e.value for e in EVENTS)
STATUS_CODES: frozenset[str] = frozenset(s.code for s in TRACKING_STATUSES)
ERROR_CODES: frozenset[str] = frozenset(e.error_code for e in ERRORS)


def event(value: str) -> Event:
    """The event whose API value is ``value``."""
    return next(e for e in EVENTS if e.value == value)


def error(error_code: str) -> ApiError:
    """The error whose ``error_code`` is ``error_code``."""
    return next(e for e in ERRORS if e.error_code == error_code)


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
