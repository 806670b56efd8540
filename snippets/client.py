"""A requests session for the webhooks API: key from the environment, a timeout
on every call, retries with backoff, and errors that carry the API's own
message.

Every example that calls the API embeds the ``imports``, ``settings`` and
``client`` sections, so any block copied from the site runs on its own.
"""

# --8<-- [start:imports]
import os
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# --8<-- [end:imports]
from snippets.settings import API_BASE, API_KEY_ENV, TIMEOUT


# --8<-- [start:client]
class ApiError(Exception):
    """A call the API refused for good, with the details of its answer."""

    def __init__(self, response: requests.Response) -> None:
        try:
            body = response.json()
            detail = body["errors"][0]
            request_id = body.get("request_id")
        except (ValueError, KeyError, IndexError, TypeError):
            detail, request_id = {"message": response.text[:200]}, None
        # Its headers hold Retry-After on a 429 or 503
        self.response = response
        self.status = response.status_code
        self.error_code = detail.get("error_code", "unknown")
        self.message = detail.get("message") or response.reason or "no message"
        self.field_name = detail.get("field_name")
        self.request_id = request_id
        retries = getattr(response.raw, "retries", None)
        self.attempts = 1 + len(retries.history) if retries else 1
        super().__init__(
            f"{self.status} {self.error_code}: {self.message} "
            f"(request_id {self.request_id}, {self.attempts} attempt(s))"
        )


def api_session(retries: int = 5) -> requests.Session:
    """A session that sends the API key and retries what is safe to retry."""
    api_key = os.environ.get(API_KEY_ENV)
    if not api_key:
        raise RuntimeError(f"Set {API_KEY_ENV} to your API key.")
    retry = Retry(
        total=retries,
        backoff_factor=0.5,  # retries at once, then waits 1 s, 2 s, 4 s, 8 s
        status_forcelist=(429, 500, 502, 503, 504),
        # POST too: a repeated create answers 409, not a copy
        allowed_methods=None,
        # A 429's Retry-After wins over the backoff.
        respect_retry_after_header=True,
        # hand the last answer back so ApiError can read it
        raise_on_status=False,
    )
    session = requests.Session()
    session.headers["API-Key"] = api_key
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def api_call(
    session: requests.Session, method: str, path: str, **kwargs: Any
) -> Any:
    """Call the API: the JSON answer (None if empty), or raise ApiError."""
    response = session.request(
        method, API_BASE + path, timeout=TIMEOUT, **kwargs
    )
    if not response.ok:
        raise ApiError(response)
    return response.json() if response.content else None


# --8<-- [end:client]
