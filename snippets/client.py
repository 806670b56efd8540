"""The client session for the webhooks API: your key from the environment, a
timeout on every call, retries of what is safe to send again, and errors that
carry the API's own message.

Run it to check your key: ``python client.py`` (with YOURSTORE_API_KEY set)
prints how many webhooks your account has.
"""

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from snippets.settings import (
    API_BASE,
    API_KEY_ENV,
    TIMEOUT,
    MissingSettingError,
    setting,
)


# --8<-- [start:client]
# --8<-- [start:error]
class ApiError(Exception):
    """A call the API refused for good, with the details of its answer."""

    def __init__(self, response: requests.Response) -> None:
        try:
            body = response.json()
            detail = body["errors"][0]
            request_id = body.get("request_id")
        except (ValueError, KeyError, IndexError, TypeError):
            detail, request_id = {"message": response.text[:200]}, None
        self.response = response  # its headers: Retry-After on a 429 or 503
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


# --8<-- [end:error]


# --8<-- [start:retry]
RETRIES = 5  # then a call fails for good: 6 attempts in all
BACKOFF = 0.5  # the first retry goes at once, then waits 1, 2, 4, 8 s


class ApiRetry(Retry):
    """urllib3's Retry, plus one rule: a 429 is sent again whatever its
    method, because the API turned the request away before doing anything.
    (urllib3 decides by method alone; this is the one case it cannot say.)"""

    def is_retry(
        self, method: str, status_code: int, has_retry_after: bool = False
    ) -> bool:
        if status_code == 429:
            method = "GET"  # any method: nothing was done
        return super().is_retry(method, status_code, has_retry_after)


# --8<-- [end:retry]


# --8<-- [start:session]
def api_session(
    retries: int = RETRIES, retry_post: bool = False
) -> requests.Session:
    """A session that sends your API key and retries what is safe to."""
    # GET, PUT and DELETE do the same however often they arrive; a POST is
    # retried after a 429 (nothing was done), else only with retry_post.
    safe = Retry.DEFAULT_ALLOWED_METHODS  # GET, PUT, DELETE and the like
    methods = safe | {"POST"} if retry_post else safe
    retry = ApiRetry(
        total=retries,
        backoff_factor=BACKOFF,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=methods,
        respect_retry_after_header=True,  # a Retry-After wins over backoff
        raise_on_status=False,  # hand back the last answer for ApiError
    )
    session = requests.Session()
    session.headers["API-Key"] = setting(API_KEY_ENV, "your API key")
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


# --8<-- [end:session]


# --8<-- [start:call]
def api_call(
    session: requests.Session, method: str, path: str, **kwargs: Any
) -> Any:
    """Call the API: the JSON answer (None if empty), or raise ApiError."""
    url = API_BASE + path
    response = session.request(method, url, timeout=TIMEOUT, **kwargs)
    if not response.ok:
        raise ApiError(response)
    return response.json() if response.content else None


# --8<-- [end:call]
# --8<-- [end:client]


# --8<-- [start:main]
def main() -> None:
    """Check the key: count the account's webhooks."""
    try:
        webhooks = api_call(api_session(), "GET", "/v1/environment/webhooks")
    except (MissingSettingError, ApiError) as error:
        raise SystemExit(f"The key does not work: {error}") from None
    print(f"Your key works: the account has {len(webhooks)} webhook(s).")


if __name__ == "__main__":
    main()
# --8<-- [end:main]
