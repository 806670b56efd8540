"""Receive deliveries with Flask: verify the signature, store, then
acknowledge.

Run it in production with gunicorn (the Receive deliveries page gives the
command), or try it with ``python -m snippets.receive_flask``. Deliveries go
to the inbox file named by ``YOURSTORE_INBOX_PATH``; ``python -m
snippets.inbox`` processes them.
"""

# --8<-- [start:imports]
from functools import cache

from flask import Flask, request
from werkzeug.exceptions import ClientDisconnected

# --8<-- [end:imports]
import logging
import os

from snippets.inbox import (
    DeliveryInbox,
    InboxUnavailableError,
    is_delivery,
    open_inbox,
    parse_delivery,
)
from snippets.verify_signatures import (
    SignatureError,
    platform_keys,
    verify_delivery,
)


# --8<-- [start:receiver]
MAX_BODY = 1024 * 1024  # 1 MiB: no delivery comes close
log = logging.getLogger("webhooks")

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
    # Flask's routing takes "//webhooks" for "/webhooks": refuse the rest.
    if request.environ.get("PATH_INFO") != "/webhooks":
        return "not found", 404
    return None


@app.errorhandler(ClientDisconnected)
def hung_up(error: ClientDisconnected) -> tuple[str, int]:
    log.warning("a client hung up before sending the whole body")
    return "", 400  # nobody is left to read it


@app.post("/webhooks", provide_automatic_options=False)  # OPTIONS: 405
def receive() -> tuple[str, int]:
    body = request.get_data(cache=False)  # the raw bytes that were signed
    if len(body) > MAX_BODY:
        return "the body is larger than 1 MiB", 413
    try:
        verify_delivery(request.headers, body, app.config["SIGNING_KEYS"])
    except SignatureError as refused:
        return refused.reason, refused.status
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


# --8<-- [end:receiver]

# --8<-- [start:usage]
if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
# --8<-- [end:usage]
