"""Fetch what a delivery points at: a thin delivery names the resource that
changed (``resource_url``); this program reads it with your API key.

Run it with YOURSTORE_API_KEY set, on a delivery you received and verified:
``python payloads.py < delivery.json`` prints the resource.
"""

import copy
import json
import sys
from typing import Any

import requests

from snippets.client import ApiError, api_call, api_session
from snippets.settings import API_BASE, MissingSettingError

# The example delivery of every event: the one source of the site's sample
# payloads. The Payloads page shows them, the local sender sends them and the
# tests feed them to both receivers.
# --8<-- [start:samples]
TRACK_DATA: dict[str, Any] = {
    "tracking_number": "9405511899223197428490",
    "status_code": "DE",
    "status_description": "Delivered",
    "carrier_status_code": "01",
    "carrier_status_description": "Delivered, In/At Mailbox",
    "ship_date": "2026-11-24T09:12:00Z",
    "estimated_delivery_date": "2026-11-27T00:00:00Z",
    "actual_delivery_date": "2026-11-26T14:03:00Z",
    "exception_description": None,
    "events": [
        {
            "occurred_at": "2026-11-26T14:03:00Z",
            "description": "Delivered, In/At Mailbox",
            "city_locality": "AUSTIN",
            "state_province": "TX",
            "postal_code": "78756",
            "country_code": "US",
            "status_code": "DE",
            "carrier_status_code": "01",
        },
        {
            "occurred_at": "2026-11-26T07:41:00Z",
            "description": "Out for Delivery",
            "city_locality": "AUSTIN",
            "state_province": "TX",
            "postal_code": "78756",
            "country_code": "US",
            "status_code": "IT",
            "carrier_status_code": "OF",
        },
        {
            "occurred_at": "2026-11-24T09:12:00Z",
            "description": "Accepted at USPS Origin Facility",
            "city_locality": "SAN JOSE",
            "state_province": "CA",
            "postal_code": "95101",
            "country_code": "US",
            "status_code": "AC",
            "carrier_status_code": "03",
        },
    ],
}

RESOURCE_PATHS = {
    "batch": "/v1/batches/se-28529731",
    "rate": "/v1/rates/se-11464812",
    "track": "/v1/labels/se-35129542/track",
    "carrier_connected": "/v1/carriers/se-1234567",
    "sales_orders_imported": "/v1/sales_orders?import_id=se-451",
    "order_source_refresh_complete": "/v1/order_sources/se-33125",
    "report_complete": "/v1/reports/se-90210",
}
RESOURCE_TYPES = {  # what each event's delivery says it is
    "batch": "API_BATCH",
    "rate": "API_RATE",
    "track": "API_TRACK",
    "carrier_connected": "API_CARRIER_CONNECTED",
    "sales_orders_imported": "API_SALES_ORDERS_IMPORTED",
    "order_source_refresh_complete": "API_ORDER_SOURCE_REFRESH_COMPLETE",
    "report_complete": "API_REPORT_COMPLETE",
}


def sample_delivery(event: str) -> dict[str, Any]:
    """A delivery of ``event`` as the platform sends it (a fresh copy)."""
    delivery: dict[str, Any] = {
        "resource_url": API_BASE + RESOURCE_PATHS[event],
        "resource_type": RESOURCE_TYPES[event],
    }
    if event == "track":
        delivery["data"] = copy.deepcopy(TRACK_DATA)
    return delivery


# --8<-- [end:samples]


# --8<-- [start:fetch]
def fetch_resource(session: requests.Session, delivery: dict[str, Any]) -> Any:
    """GET what ``delivery`` is about (its ``resource_url``)."""
    url = delivery["resource_url"]
    if not url.startswith(API_BASE + "/"):  # the key goes nowhere else
        raise ValueError(f"resource_url is not on {API_BASE}: {url!r}")
    return api_call(session, "GET", url.removeprefix(API_BASE))


# --8<-- [end:fetch]


# --8<-- [start:main]
def main() -> None:
    """Fetch the resource of the delivery read from standard input."""
    try:
        resource = fetch_resource(api_session(), json.load(sys.stdin))
    except (MissingSettingError, ApiError, ValueError, KeyError) as error:
        raise SystemExit(f"Nothing fetched: {error!r}") from None
    print(json.dumps(resource, indent=2))


if __name__ == "__main__":
    main()
# --8<-- [end:main]
