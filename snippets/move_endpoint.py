"""Move an endpoint to a new URL without missing a delivery.

On the old server, while the switch happens, run the relay (it listens where
the old endpoint did; port 5000 here)::

    export NEW_ENDPOINT_URL=https://new.example.com/webhooks
    flask --app move_endpoint:relay run --port 5000

Then, with the new endpoint up and YOURSTORE_API_KEY set, point every webhook
at it::

    python move_endpoint.py https://old.example.com/webhooks \\
        https://new.example.com/webhooks
"""

import os
import sys

import requests
from flask import Flask, request

from snippets.client import ApiError, api_call, api_session
from snippets.settings import MissingSettingError


# --8<-- [start:move]
def move_endpoint(
    session: requests.Session, old_url: str, new_url: str
) -> list[str]:
    """Point every webhook of ``old_url`` at ``new_url``; the ids moved."""
    if old_url == new_url:
        raise ValueError("the old and the new URL are the same")
    moved = []
    for webhook in api_call(session, "GET", "/v1/environment/webhooks"):
        if webhook["url"] == old_url:
            path = f"/v1/environment/webhooks/{webhook['webhook_id']}"
            # A PUT without headers or name keeps them as they are.
            api_call(session, "PUT", path, json={"url": new_url})
            moved.append(webhook["webhook_id"])
    # Read the list back: the switch is done only when the API says so.
    after = api_call(session, "GET", "/v1/environment/webhooks")
    left = [w["webhook_id"] for w in after if w["url"] == old_url]
    if left:
        raise RuntimeError(
            f"webhooks {left} still send to {old_url}; run it again"
        )
    return moved


# --8<-- [end:move]


# --8<-- [start:relay]
RELAY_TIMEOUT = (3.05, 10)  # seconds; answer before the platform gives up
HOP_BY_HOP = {"connection", "content-length", "host", "keep-alive", "te"}
HOP_BY_HOP |= {"trailer", "transfer-encoding", "upgrade", "proxy-connection"}

relay = Flask(__name__)
relay.config["NEW_ENDPOINT_URL"] = os.environ.get("NEW_ENDPOINT_URL")
# As the receivers do, refuse a body over 1 MiB with a 413.
relay.config["MAX_CONTENT_LENGTH"] = 1024 * 1024


# --8<-- [start:forward]
@relay.post("/webhooks")
def forward() -> tuple[str, int]:
    """Pass a delivery on unchanged; acknowledge it if the new endpoint did."""
    target = relay.config["NEW_ENDPOINT_URL"]
    headers = {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in HOP_BY_HOP
    }
    try:
        answer = requests.post(
            target,
            data=request.get_data(),
            headers=headers,
            timeout=RELAY_TIMEOUT,
        )
    except requests.RequestException as error:
        relay.logger.warning("could not pass a delivery on: %s", error)
        return "the new endpoint did not answer; send it again later", 502
    if not answer.ok:
        return f"the new endpoint answered {answer.status_code}", 502
    return "", 204


# --8<-- [end:forward]
# --8<-- [end:relay]


# --8<-- [start:main]
def main() -> None:
    """Move every webhook from the first URL to the second."""
    if len(sys.argv) != 3:
        raise SystemExit("usage: python move_endpoint.py OLD_URL NEW_URL")
    old_url, new_url = sys.argv[1:]
    try:
        moved = move_endpoint(api_session(), old_url, new_url)
    except (MissingSettingError, ApiError, ValueError, RuntimeError) as error:
        raise SystemExit(f"Nothing moved: {error}") from None
    ids = ", ".join(moved) or "-"
    print(f"Moved {len(moved)} webhook(s) to {new_url}: {ids}")


if __name__ == "__main__":
    main()
# --8<-- [end:main]
