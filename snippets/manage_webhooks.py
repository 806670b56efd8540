"""List, inspect, change and delete your webhooks from the command line.

With YOURSTORE_API_KEY set::

    python manage_webhooks.py list
    python manage_webhooks.py get WEBHOOK_ID
    python manage_webhooks.py move WEBHOOK_ID NEW_URL
    python manage_webhooks.py delete WEBHOOK_ID
"""

import sys
from typing import Any

import requests

from snippets.client import ApiError, api_call, api_session
from snippets.settings import MissingSettingError


# --8<-- [start:list]
def list_webhooks(session: requests.Session) -> list[dict[str, Any]]:
    """Every active webhook of the account, one per event at most."""
    return api_call(session, "GET", "/v1/environment/webhooks")


# --8<-- [end:list]


# --8<-- [start:get]
def get_webhook(session: requests.Session, webhook_id: str) -> dict[str, Any]:
    """One webhook by id. ApiError ``not_found`` (404) for an unknown id."""
    return api_call(session, "GET", f"/v1/environment/webhooks/{webhook_id}")


# --8<-- [end:get]


# --8<-- [start:update]
def update_webhook(
    session: requests.Session,
    webhook_id: str,
    url: str,
    headers: dict[str, str] | None = None,
    name: str | None = None,
) -> None:
    """Point a webhook at ``url``; optionally replace headers or name."""
    # Headers left as None are kept; an empty dict removes them all.
    body: dict[str, Any] = {"url": url}
    if headers is not None:
        body["headers"] = [{"key": k, "value": v} for k, v in headers.items()]
    if name is not None:
        body["name"] = name
    api_call(
        session, "PUT", f"/v1/environment/webhooks/{webhook_id}", json=body
    )


# --8<-- [end:update]


# --8<-- [start:delete]
def delete_webhook(session: requests.Session, webhook_id: str) -> bool:
    """Delete a webhook for good; False if it was gone (reruns are safe)."""
    try:
        api_call(session, "DELETE", f"/v1/environment/webhooks/{webhook_id}")
    except ApiError as error:
        if error.error_code == "not_found":
            return False
        raise
    return True


# --8<-- [end:delete]


# --8<-- [start:main]
USAGE = (
    "usage: list | get WEBHOOK_ID | move WEBHOOK_ID URL | delete WEBHOOK_ID"
)


def run(argv: list[str]) -> str:
    """Run one command line; what to print."""
    match argv:
        case ["list"]:
            hooks = list_webhooks(api_session())
            lines = [
                f"{w['webhook_id']}\t{w['event']}\t{w['url']}" for w in hooks
            ]
            return "\n".join(lines) or "No webhooks."
        case ["get", webhook_id]:
            hook = get_webhook(api_session(), webhook_id)
            return f"{hook['webhook_id']}\t{hook['event']}\t{hook['url']}"
        case ["move", webhook_id, url]:
            update_webhook(api_session(), webhook_id, url)
            return f"Webhook {webhook_id} now sends to {url}"
        case ["delete", webhook_id]:
            gone = delete_webhook(api_session(), webhook_id)
            return (
                f"Deleted webhook {webhook_id}" if gone else "Already deleted"
            )
    raise SystemExit(USAGE)


def main() -> None:
    try:
        print(run(sys.argv[1:]))
    except (MissingSettingError, ApiError) as error:
        raise SystemExit(f"The API refused: {error}") from None


if __name__ == "__main__":
    main()
# --8<-- [end:main]
