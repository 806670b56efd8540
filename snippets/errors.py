"""Decide what to do when a call fails for good: wait, fix the request, or
stop.

The client session has already retried what is worth retrying by the time an
``ApiError`` reaches this code. A job runner (a queue worker, a cron job, a
deploy step) still has to choose between running the job again later and
giving up on it.

Run it with YOURSTORE_API_KEY set: ``python errors.py`` runs one job (it lists
your webhooks) and prints what a job runner should do next.
"""

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from snippets.client import ApiError, api_call, api_session
from snippets.settings import MissingSettingError


# --8<-- [start:retry_after]
def retry_after(error: ApiError, now: float | None = None) -> float | None:
    """Seconds Retry-After asks for (429, 503), or None when it says none."""
    # Retry-After is either a number of seconds or an HTTP date.
    value = error.response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# --8<-- [end:retry_after]


# --8<-- [start:outcome]
DEFAULT_WAIT = 60.0  # seconds; the rate limit counts requests per minute


@dataclass(frozen=True)
class Outcome:
    done: bool
    retry_in: float | None = None  # run the job again after this many seconds
    reason: str = ""  # for the log: the API's own words, never the key


# --8<-- [end:outcome]


# --8<-- [start:run]
def run_api_job(job: Callable[[], object]) -> Outcome:
    """Run a job that calls the API; say whether, and when, to rerun it."""
    try:
        job()
    except ApiError as error:
        if error.status == 429 or error.status >= 500:
            wait = retry_after(error)
            wait = DEFAULT_WAIT if wait is None else wait
            return Outcome(False, wait, f"the API asked us to wait: {error}")
        if error.error_code == "unauthorized":
            raise  # a bad key fails every job: stop the worker, fix the key
        if error.error_code == "not_found":
            return Outcome(False, None, f"nothing to act on: {error}")
        field = f" (field {error.field_name})" if error.field_name else ""
        return Outcome(
            False, None, f"the request needs fixing{field}: {error}"
        )
    except (requests.ConnectionError, requests.Timeout) as error:
        return Outcome(
            False, DEFAULT_WAIT, f"the API could not be reached: {error}"
        )
    return Outcome(True)


# --8<-- [end:run]


# --8<-- [start:main]
def main() -> None:
    """Run one job that lists the webhooks; print what to do next."""
    try:
        session = api_session()
    except MissingSettingError as error:
        raise SystemExit(str(error)) from None

    def job() -> object:
        return api_call(session, "GET", "/v1/environment/webhooks")

    try:
        outcome = run_api_job(job)
    except ApiError as error:  # a bad key: every job would fail the same way
        raise SystemExit(f"Stop and fix the key: {error}") from None
    if outcome.done:
        print("Done: nothing more to do.")
    elif outcome.retry_in is not None:
        print(f"Run it again in {outcome.retry_in:g} s: {outcome.reason}")
    else:
        print(f"Do not run it again: {outcome.reason}")


if __name__ == "__main__":
    main()
# --8<-- [end:main]
