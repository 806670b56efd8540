"""Pull versus push: poll the tracking endpoint, or let a webhook tell you.

``poll_tracking`` is the pull side: it asks the API on a timer until the
package is delivered and counts how many answers said nothing new. ``app`` is
the push side: a webhook handler the platform calls once per tracking event.

Poll one package, with YOURSTORE_API_KEY set (it asks every 15 minutes until
the package is delivered): ``python webhooks_vs_apis.py CARRIER NUMBER``.
Serve the push side: ``flask --app webhooks_vs_apis run --port 5000``.
"""

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask, request

from snippets.client import ApiError, api_call, api_session
from snippets.settings import MissingSettingError


# --8<-- [start:poll]
@dataclass
class PollResult:
    calls: int  # requests made
    no_update: int  # answers that said nothing new
    tracking: dict[str, Any]  # the last answer


def poll_tracking(
    session: requests.Session,
    carrier_code: str,
    tracking_number: str,
    every: float = 15 * 60,  # seconds between polls
    max_calls: int = 1_000,
    sleep: Callable[[float], None] = time.sleep,
) -> PollResult:
    """Ask for tracking on a timer until the package is delivered."""
    params = {"carrier_code": carrier_code, "tracking_number": tracking_number}
    calls = no_update = 0
    seen = None
    while True:
        tracking = api_call(session, "GET", "/v1/tracking", params=params)
        calls += 1
        latest = (tracking["status_code"], len(tracking["events"]))
        if latest == seen:
            no_update += 1
        seen = latest
        if tracking["status_code"] in ("DE", "SP") or calls >= max_calls:
            return PollResult(calls, no_update, tracking)
        sleep(every)


# --8<-- [end:poll]


# --8<-- [start:push]
app = Flask(__name__)
log = logging.getLogger("webhooks")


@app.post("/webhooks")
def receive_delivery() -> tuple[str, int]:
    """The platform calls this once per event: no timer, no wasted calls."""
    delivery = request.get_json(silent=True)
    if not isinstance(delivery, dict) or "resource_type" not in delivery:
        return "expected a JSON delivery", 400
    if delivery["resource_type"] == "API_TRACK":
        data = delivery.get("data") or {}
        log.info(
            "%s is now %s",
            data.get("tracking_number"),
            data.get("status_code"),
        )
    return "", 204


# --8<-- [end:push]


# --8<-- [start:main]
def main() -> None:
    """Poll the package named on the command line until it is delivered."""
    if len(sys.argv) != 3:
        raise SystemExit("usage: python webhooks_vs_apis.py CARRIER NUMBER")
    carrier_code, tracking_number = sys.argv[1:]
    try:
        result = poll_tracking(api_session(), carrier_code, tracking_number)
    except (MissingSettingError, ApiError) as error:
        raise SystemExit(f"Polling stopped: {error}") from None
    print(f"{result.calls} calls, {result.no_update} said 'no update'")


if __name__ == "__main__":
    main()
# --8<-- [end:main]
