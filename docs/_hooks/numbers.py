"""Numbers the pages quote, computed from the constants the code runs with.

A page writes ``{{ rate_limit }} requests a minute`` rather than a number, so
changing a constant changes every sentence that states it. The test of the
published numbers (``tests/site/test_numbers.py``) pins what these render to,
and fails on a number with a unit typed into prose.
"""

from __future__ import annotations

from urllib3.util.retry import RequestHistory, Retry

from snippets import catalog, client, endpoint, inbox, settings


def seconds(value: float) -> str:
    """``3.05 seconds``, ``1 second``, ``15 seconds``."""
    text = f"{value:g}"
    return f"{text} second" if text == "1" else f"{text} seconds"


def listing(items: list[str]) -> str:
    """``1, 2, 4 and 8``."""
    return (
        items[0]
        if len(items) == 1
        else ", ".join(items[:-1]) + (f" and {items[-1]}")
    )


def backoff_waits() -> list[float]:
    """The waits of the client session before each retry, from urllib3."""
    waits = []
    for failed in range(1, client.RETRIES + 1):
        history = tuple(
            RequestHistory("GET", "/", None, 503, None) for _ in range(failed)
        )
        retry = Retry(backoff_factor=client.BACKOFF, history=history)
        waits.append(retry.get_backoff_time())
    return waits


def _later_waits() -> str:
    waits = backoff_waits()
    if waits[0] != 0:
        raise ValueError("the page says the first retry goes at once")
    return listing([f"{wait:g}" for wait in waits[1:]]) + " seconds"


def size(value: int) -> str:
    """``1 MiB``, ``512 KiB``."""
    for unit, factor in (("MiB", 1024**2), ("KiB", 1024)):
        if value % factor == 0:
            return f"{value // factor} {unit}"
    return f"{value} bytes"


def duration(value: float) -> str:
    """``10 seconds``, ``1 hour``, ``2 hours``."""
    for unit, factor in (("hour", 3600), ("minute", 60)):
        if value >= factor and value % factor == 0:
            count = int(value // factor)
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return seconds(value)


NUMBERS = {
    "rate_limit": str(catalog.RATE_LIMIT_PER_MINUTE),
    "client_retries": str(client.RETRIES),
    "client_attempts": str(client.RETRIES + 1),
    "client_backoff": _later_waits(),
    "connect_timeout": seconds(settings.TIMEOUT[0]),
    "read_timeout": seconds(settings.TIMEOUT[1]),
    "endpoint_max_body": size(endpoint.app.config["MAX_CONTENT_LENGTH"]),
    "inbox_first_wait": duration(inbox.RETRY_FIRST_WAIT),
    "inbox_max_wait": duration(inbox.RETRY_MAX_WAIT),
    "event_count": str(len(catalog.EVENTS)),
}
