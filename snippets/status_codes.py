"""Turn a ``track`` delivery into a message for the customer.

Each tracking status code gets its own wording; codes that tell the customer
nothing new (``NY``, ``UN``) produce no message at all.

Run it on a delivery you saved: ``python status_codes.py < delivery.json``.
"""

import json
import sys
from typing import Any


# --8<-- [start:messages]
MESSAGES = {
    "AC": "The carrier has your package {tracking_number}; it is on its way.",
    "IT": "Your package {tracking_number} is in transit{eta}.",
    "AT": (
        "The carrier tried to deliver {tracking_number}"
        " and will try again{eta}."
    ),
    "EX": (
        "There is a problem with {tracking_number}: {exception}. We are on it."
    ),
    "DE": "Your package {tracking_number} was delivered.",
    "SP": (
        "Your package {tracking_number} is waiting at {place}"
        " for you to collect."
    ),
    # NY (not yet scanned) and UN (unknown) tell the customer nothing.
}


# --8<-- [end:messages]


# --8<-- [start:message]
def customer_message(delivery: dict[str, Any]) -> str | None:
    """The message to send for a ``track`` delivery, or None."""
    if delivery.get("resource_type") != "API_TRACK":
        return None
    data = delivery["data"]
    template = MESSAGES.get(data["status_code"])
    if template is None:
        return None
    eta = data.get("estimated_delivery_date")
    latest = data["events"][0] if data.get("events") else {}
    place = ", ".join(
        part
        for part in (latest.get("city_locality"), latest.get("postal_code"))
        if part
    )
    return template.format(
        tracking_number=data["tracking_number"],
        eta=f", expected {eta[:10]}" if eta else "",
        exception=data.get("exception_description")
        or "the carrier reported an issue",
        place=place or "a collection point",
    )


# --8<-- [end:message]


# --8<-- [start:main]
def main() -> None:
    """Print the message for the delivery read from standard input."""
    try:
        message = customer_message(json.load(sys.stdin))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise SystemExit(f"Expected a delivery in JSON: {error!r}") from None
    print(message or "No message for this delivery.")


if __name__ == "__main__":
    main()
# --8<-- [end:main]
