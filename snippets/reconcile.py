"""Catch up after downtime: fetch the tracking of the packages you follow and
put it in the inbox, as the deliveries you missed would have.

When your endpoint was down longer than the platform kept retrying, some
tracking updates never arrived. The tracking endpoint still has the latest
state of each package: read it, and store it in the inbox as a ``track``
delivery. The worker processes it like any other; a package whose state you
already had changes nothing, because a handler applies only what is newer.

Run it with YOURSTORE_API_KEY and YOURSTORE_INBOX_PATH set, one package per
line on standard input (carrier code, then tracking number):
``python reconcile.py < packages.txt``.
"""

import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import requests

from snippets.client import ApiError, api_call, api_session
from snippets.inbox import INBOX_PATH, Inbox
from snippets.settings import API_BASE, MissingSettingError


# --8<-- [start:catch-up]
def as_delivery(tracking: dict[str, Any]) -> dict[str, Any]:
    """A ``track`` delivery holding what the tracking endpoint answered."""
    query = urlencode(
        {
            "carrier_code": tracking["carrier_code"],
            "tracking_number": tracking["tracking_number"],
        }
    )
    return {
        "resource_url": f"{API_BASE}/v1/tracking?{query}",
        "resource_type": "API_TRACK",
        "data": tracking,
    }


def catch_up(
    session: requests.Session,
    inbox: Inbox,
    packages: Iterable[tuple[str, str]],
) -> int:
    """Store the latest tracking of each package; how many were new."""
    new = 0
    for carrier_code, tracking_number in packages:
        params = {
            "carrier_code": carrier_code,
            "tracking_number": tracking_number,
        }
        tracking = api_call(session, "GET", "/v1/tracking", params=params)
        new += inbox.store(as_delivery(tracking))
    return new


# --8<-- [end:catch-up]


# --8<-- [start:main]
def main() -> None:
    """Catch up on the packages listed on standard input."""
    packages = [tuple(line.split()) for line in sys.stdin if line.strip()]
    if any(len(package) != 2 for package in packages):
        raise SystemExit("each line: a carrier code and a tracking number")
    try:
        new = catch_up(api_session(), Inbox(INBOX_PATH), packages)
    except (MissingSettingError, ApiError) as error:
        raise SystemExit(f"Stopped: {error}") from None
    print(f"{new} of {len(packages)} package(s) stored for the worker.")


if __name__ == "__main__":
    main()
# --8<-- [end:main]
