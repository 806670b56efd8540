"""Receive deliveries with Flask: verify the signature, store, then
acknowledge.

Run it: ``flask --app snippets.receive_flask run --port 5000`` (or
``python -m snippets.receive_flask``). Deliveries go to the inbox file named by
``YOURSTORE_INBOX_PATH``; ``python -m snippets.inbox`` processes them.
"""

# --8<-- [start:imports]
from functools import cache

from flask import Flask, request

# --8<-- [end:imports]
import json
import os

from snippets.inbox import INBOX_PATH, Inbox, is_delivery
from snippets.verify_signatures import (
    KeySet,
    SignatureError,
    trusted_keys,
    verify_delivery,
)


# --8<-- [start:receiver]
MAX_BODY = 1024 * 1024  # 1 MiB: no delivery comes close

app = Flask(__name__)
# Flask answers 413 itself when Content-Length says more than this. A chunked
# body has no length: Flask stops reading it here, and the view answers 413.
app.config["MAX_CONTENT_LENGTH"] = MAX_BODY + 1


@cache
def signing_keys() -> KeySet:
    return (
        trusted_keys()
    )  # on first use, so importing the app needs no network


@cache
def inbox() -> Inbox:
    return Inbox(INBOX_PATH)


@app.post("/webhooks")
def receive() -> tuple[str, int]:
    body = request.get_data(cache=False)  # the raw bytes that were signed
    if len(body) > MAX_BODY:
        return "the body is larger than 1 MiB", 413
    try:
        verify_delivery(request.headers, body, signing_keys())
    except SignatureError as refused:
        return refused.reason, refused.status
    if request.mimetype != "application/json":
        return "expected Content-Type: application/json", 415
    try:
        delivery = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurd nesting
        return "the body is not valid JSON", 400
    if not is_delivery(delivery):
        return "the body is not a webhook delivery", 422
    inbox().store(
        delivery
    )  # on disk before we answer; a redelivery is a no-op
    return "", 204


# --8<-- [end:receiver]

# --8<-- [start:usage]
if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
# --8<-- [end:usage]
