"""Receive deliveries with FastAPI: verify the signature, store, then
acknowledge.

Run it: ``uvicorn snippets.receive_fastapi:app --port 8000`` (or
``python -m snippets.receive_fastapi``). Deliveries go to the inbox file named
by ``YOURSTORE_INBOX_PATH``; ``python -m snippets.inbox`` processes them.
"""

# --8<-- [start:imports]
from functools import cache

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

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

app = FastAPI(title="Webhook receiver")


@cache
def signing_keys() -> KeySet:
    return (
        trusted_keys()
    )  # on first use, so importing the app needs no network


@cache
def inbox() -> Inbox:
    return Inbox(INBOX_PATH)


async def read_body(request: Request) -> bytes | None:
    """The raw body, or None as soon as it is longer than MAX_BODY."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def media_type(request: Request) -> str:
    return (
        request.headers.get("content-type", "").split(";")[0].strip().lower()
    )


@app.post("/webhooks", status_code=204)
async def receive(request: Request) -> Response:
    body = await read_body(request)  # the raw bytes that were signed
    if body is None:
        return Response("the body is larger than 1 MiB", 413)
    try:  # in a thread: fetching the keys (rarely) and verifying block
        keys = signing_keys()
        await run_in_threadpool(verify_delivery, request.headers, body, keys)
    except SignatureError as refused:
        return Response(refused.reason, refused.status)
    if media_type(request) != "application/json":
        return Response("expected Content-Type: application/json", 415)
    try:
        delivery = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurd nesting
        return Response("the body is not valid JSON", 400)
    if not is_delivery(delivery):
        return Response("the body is not a webhook delivery", 422)
    # On disk before we answer; a redelivery is a no-op.
    await run_in_threadpool(inbox().store, delivery)
    return Response(status_code=204)


# --8<-- [end:receiver]

# --8<-- [start:usage]
if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000"))
    )
# --8<-- [end:usage]
