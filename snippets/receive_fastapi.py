"""Receive deliveries with FastAPI: verify the signature, store, then
acknowledge.

In production, serve ``app`` with uvicorn (the Receive deliveries page gives
the command). To try it on your machine: ``python receive_fastapi.py`` serves
it on http://127.0.0.1:5000/webhooks; with ``--local-keys
.local/webhook-keys/jwks.json`` it trusts the local sender's keys instead of
the platform's. Deliveries go to the inbox file named by
``YOURSTORE_INBOX_PATH``; the worker (``python inbox.py``) processes them.
"""

import argparse
import logging
from functools import cache
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.middleware.base import RequestResponseEndpoint
from starlette.requests import ClientDisconnect

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

# No /docs, /redoc or /openapi.json, and "/webhooks/" is not redirected: a
# scanner learns nothing but 404.
app = FastAPI(
    docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False
)
app.state.signing_keys = platform_keys()  # fetched when first needed


@cache
def inbox() -> DeliveryInbox:
    return open_inbox()  # on first use: in each worker process


@app.middleware("http")
async def within_limits(
    request: Request, call_next: RequestResponseEndpoint
) -> Response:
    """Refuse a request line or headers over the limits, on any path:
    uvicorn takes as much as arrives at once."""
    scope = request.scope  # the request line and headers, as sent
    query = scope["query_string"]
    target = scope.get("raw_path") or scope["path"].encode()
    target += b"?" + query if query else b""
    version = f"HTTP/{scope['http_version']}"
    line = f"{request.method} {target.decode('latin-1')} {version}"
    headers = [len(name) + len(value) + 4 for name, value in scope["headers"]]
    refused = head_too_large(len(line), headers)
    if refused is not None:
        return Response(*refused)
    return await call_next(request)


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


# --8<-- [end:app]


# --8<-- [start:receive]
@app.post("/webhooks", status_code=204)
async def receive(request: Request) -> Response:
    try:
        body = await read_body(request)  # the raw bytes that were signed
    except ClientDisconnect:
        log.warning("a client hung up before sending the whole body")
        return Response(status_code=400)  # nobody is left to read it
    if body is None:
        return Response("the body is larger than 1 MiB", 413)
    try:  # in a thread: fetching the keys (rarely) and verifying block
        keys = request.app.state.signing_keys
        await run_in_threadpool(verify_delivery, request.headers, body, keys)
    except SignatureError as refused:
        return Response(refused.reason, refused.status)
    return await store_signed(request, body)


async def store_signed(request: Request, body: bytes) -> Response:
    """Check what the platform signed, store it, and answer."""
    if media_type(request) != "application/json":
        return Response("expected Content-Type: application/json", 415)
    try:
        delivery = parse_delivery(body)
    except ValueError:
        return Response("the body is not JSON the inbox can store", 400)
    if not is_delivery(delivery):
        return Response("the body is not a webhook delivery", 422)
    try:  # on disk before we answer
        await run_in_threadpool(lambda: inbox().store(delivery))
    except InboxUnavailableError as error:  # our fault: the platform retries
        log.error("the inbox cannot be written: %s", error)
        return Response("the inbox cannot be written", 503)
    return Response(status_code=204)


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
        app.state.signing_keys = LocalKeySet(args.local_keys)
    uvicorn.run(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
# --8<-- [end:main]
