"""Create a webhook: subscribe a URL to one event.

Run it: ``WEBHOOK_URL=https://example.com/webhooks python -m
snippets.create_webhook``
"""

import os
from typing import Any

import requests

from snippets.client import ApiError, api_call, api_session


# --8<-- [start:create]
def create_webhook(
    session: requests.Session, url: str, event: str
) -> dict[str, Any]:
    """Send ``event`` deliveries to ``url``. ApiError 409 if it has one."""
    body = {"url": url, "event": event}
    return api_call(session, "POST", "/v1/environment/webhooks", json=body)


# --8<-- [end:create]


# --8<-- [start:ensure]
def ensure_webhook(
    session: requests.Session, url: str, event: str
) -> dict[str, Any]:
    """Make ``url`` the one webhook for ``event``; safe on every deploy."""
    try:
        return create_webhook(session, url, event)
    except ApiError as error:
        if error.error_code != "webhook_event_type_conflict":
            raise
    # The event already has a webhook (409): find it and point it at ``url``.
    webhooks = api_call(session, "GET", "/v1/environment/webhooks")
    existing = next((w for w in webhooks if w["event"] == event), None)
    if existing is None:  # deleted since the 409: create it after all
        return create_webhook(session, url, event)
    if existing["url"] != url:
        path = f"/v1/environment/webhooks/{existing['webhook_id']}"
        api_call(session, "PUT", path, json={"url": url})
        existing["url"] = url
    return existing


# --8<-- [end:ensure]

# --8<-- [start:usage]
if __name__ == "__main__":
    try:
        webhook = create_webhook(
            api_session(), os.environ["WEBHOOK_URL"], "batch"
        )
    except ApiError as error:
        raise SystemExit(f"Could not create the webhook: {error}") from None
    print(f"Created webhook {webhook['webhook_id']} for {webhook['event']}")
# --8<-- [end:usage]
