"""The one place where the platform's name, API base URL and header names are
set, with the size limits both receivers hold requests to, and where the
examples read what you put in the environment.

Pages read these values through the docs build hook; every program you
download that talks to the API starts with the ``settings`` section.
"""

import os

# --8<-- [start:settings]
API_BASE = os.environ.get("YOURSTORE_API_BASE", "https://api.yourstore.com")
API_KEY_ENV = "YOURSTORE_API_KEY"  # the variable that holds your API key
TIMEOUT = (3.05, 15)  # seconds to connect, then to wait for the answer


class MissingSettingError(RuntimeError):
    """An environment variable the example needs is not set."""


def setting(name: str, meaning: str) -> str:
    """The value of the environment variable ``name``, which must be set."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingSettingError(f"Set {name} to {meaning}.")
    return value


# --8<-- [end:settings]

WEBHOOKS_PATH = "/v1/environment/webhooks"
TRACKING_PATH = "/v1/tracking"

# Blocks that check or make delivery signatures embed this section too.
# --8<-- [start:signatures]
PRODUCT_NAME = "YourStore"
PRODUCT_SLUG = PRODUCT_NAME.lower()
JWKS_PATH = "/jwks"  # where the platform publishes its public keys (a JWKS)
KEY_ID_HEADER = f"x-{PRODUCT_SLUG}-rsa-sha256-key-id"
SIGNATURE_HEADER = f"x-{PRODUCT_SLUG}-rsa-sha256-signature"
TIMESTAMP_HEADER = f"x-{PRODUCT_SLUG}-timestamp"
# --8<-- [end:signatures]

# The receivers embed this section: how much of a request they read before
# the body. A delivery's request line is about 25 bytes and its headers are
# about 8 lines of under 400 bytes each.
# --8<-- [start:limits]
MAX_REQUEST_LINE = 4094  # bytes: method, target and HTTP version
MAX_HEADER_LINES = 50
MAX_HEADER_LINE = 8190  # bytes: name, ": ", value and the line break


def head_too_large(
    request_line: int, header_lines: list[int]
) -> tuple[str, int] | None:
    """The answer to a request line or headers over the limits, or None.

    ``request_line`` is its length in bytes; ``header_lines`` the length of
    each header line.
    """
    if request_line > MAX_REQUEST_LINE:
        return f"the request line is over {MAX_REQUEST_LINE} bytes", 414
    if len(header_lines) > MAX_HEADER_LINES:
        return f"more than {MAX_HEADER_LINES} header lines", 431
    if max(header_lines, default=0) > MAX_HEADER_LINE:
        return f"a header line is over {MAX_HEADER_LINE} bytes", 431
    return None


# --8<-- [end:limits]
