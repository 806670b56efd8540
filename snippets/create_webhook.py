"""Create a webhook: send one event's deliveries to your endpoint.

Run it with YOURSTORE_API_KEY and WEBHOOK_URL set: ``python create_webhook.py``
subscribes WEBHOOK_URL to the ``batch`` event; ``python create_webhook.py
track`` to another. Run it again and it changes nothing.
"""

import sys
from typing import Any

import requests

from snippets.client import ApiError, api_call, api_session
from snippets.settings import MissingSettingError, setting


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
    # The event has a webhook already (409): point it at ``url``.
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


# --8<-- [start:main]
def main() -> None:
    """Subscribe WEBHOOK_URL to the event named on the command line."""
    event = sys.argv[1] if len(sys.argv) > 1 else "batch"
    try:
        url = setting("WEBHOOK_URL", "your endpoint's https:// URL")
        # A create is safe to send again: a repeat answers 409, not a copy.
        session = api_session(retry_post=True)
        webhook = ensure_webhook(session, url, event)
    except (MissingSettingError, ApiError) as error:
        raise SystemExit(f"No webhook for {event}: {error}") from None
    print(f"Webhook {webhook['webhook_id']} sends {event} deliveries to {url}")


if __name__ == "__main__":
    main()
# --8<-- [end:main]
