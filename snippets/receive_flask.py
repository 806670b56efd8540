"""Receive deliveries with Flask: verify the signature, store, then
acknowledge.

In production, serve ``app`` with gunicorn (the Receive deliveries page gives
the command). To try it on your machine: ``python receive_flask.py`` serves
it on http://127.0.0.1:5000/webhooks; with ``--local-keys
.local/webhook-keys/jwks.json`` it trusts the local sender's keys instead of
the platform's. Deliveries go to the inbox file named by
``YOURSTORE_INBOX_PATH``; the worker (``python inbox.py``) processes them.
"""

import argparse
import logging
from functools import cache
from pathlib import Path

from flask import Flask, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

from snippets.inbox import (
    DeliveryInbox,
    InboxUnavailableError,
    is_delivery,
    open_inbox,
    parse_delivery,
)
from snippets.settings import head_too_large
from snippets.verify_signatures import (
    LocalKeySet,
    SignatureError,
    platform_keys,
    verify_delivery,
)


# --8<-- [start:receiver]
log = logging.getLogger("webhooks")


# --8<-- [start:app]
MAX_BODY = 1024 * 1024  # 1 MiB: no delivery comes close

app = Flask(__name__, static_folder=None)  # serves POST /webhooks, no more
# Flask answers 413 itself when Content-Length says more than this. A chunked
# body has no length: Flask stops reading it here, and the view answers 413.
app.config["MAX_CONTENT_LENGTH"] = MAX_BODY + 1
app.config["SIGNING_KEYS"] = platform_keys()  # fetched when first needed


@cache
def inbox() -> DeliveryInbox:
    return open_inbox()  # on first use: in each worker process


@app.before_request
def only_webhooks() -> tuple[str, int] | None:
    # The size limits first, whatever the server checked: the request line
    # as sent (RAW_URI) and each header line, as gunicorn measures them.
    environ = request.environ
    target = environ.get("RAW_URI", request.full_path)
    line = f"{request.method} {target} {environ.get('SERVER_PROTOCOL')}"
    headers = [len(name) + len(value) + 4 for name, value in request.headers]
    refused = head_too_large(len(line), headers)
    if refused is not None:
        return refused
    # Flask's routing takes "//webhooks" for "/webhooks": refuse the rest.
    if environ.get("PATH_INFO") != "/webhooks":
        return "not found", 404
    return None


@app.errorhandler(ClientDisconnected)
def hung_up(error: ClientDisconnected) -> tuple[str, int]:
    log.warning("a client hung up before sending the whole body")
    return "", 400  # nobody is left to read it


# --8<-- [end:app]


# --8<-- [start:receive]
@app.post("/webhooks", provide_automatic_options=False)  # OPTIONS: 405
def receive() -> tuple[str, int]:
    try:
        body = request.get_data(cache=False)  # the raw bytes that were signed
    except HTTPException:
        raise  # 413, or a hang-up Werkzeug noticed (see hung_up)
    except Exception as error:  # the server's own, e.g. a bad chunk size
        log.warning("a body that could not be read: %s", error)
        return "the body could not be read", 400
    if len(body) < (request.content_length or 0):  # gunicorn: a hang-up
        return hung_up(ClientDisconnected())
    if len(body) > MAX_BODY:
        return "the body is larger than 1 MiB", 413
    try:
        verify_delivery(request.headers, body, app.config["SIGNING_KEYS"])
    except SignatureError as refused:
        return refused.reason, refused.status
    return store_signed(body)


def store_signed(body: bytes) -> tuple[str, int]:
    """Check what the platform signed, store it, and answer."""
    if request.mimetype != "application/json":
        return "expected Content-Type: application/json", 415
    try:
        delivery = parse_delivery(body)
    except ValueError:
        return "the body is not JSON the inbox can store", 400
    if not is_delivery(delivery):
        return "the body is not a webhook delivery", 422
    try:
        inbox().store(delivery)  # on disk before we answer
    except InboxUnavailableError as error:  # our fault: the platform retries
        log.error("the inbox cannot be written: %s", error)
        return "the inbox cannot be written", 503
    return "", 204


# --8<-- [end:receive]
# --8<-- [end:receiver]


# --8<-- [start:main]
def main() -> None:
    """Serve the receiver on this machine, to try it out."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument(
        "--local-keys",
        type=Path,
        metavar="JWKS",
        help="trust these keys (the local sender's jwks.json) instead of"
        " the platform's: for testing only",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.local_keys:
        log.warning("trusting the keys in %s: testing only", args.local_keys)
        app.config["SIGNING_KEYS"] = LocalKeySet(args.local_keys)
    app.run(host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
# --8<-- [end:main]
