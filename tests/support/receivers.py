"""What the tests of both receivers share: signing, bad deliveries, live
servers, load.

``tests/snippets/test_receive.py`` runs the same checks against both
receivers. The statuses they must answer are read from the table on
``docs/receive.md``, so the page and the code cannot drift apart.

Servers listen on 127.0.0.1 only. A receiver runs on a thread of the test
process (:class:`ThreadServer`), or under its documented production command
(``tests/support/production.py``).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import requests
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from hypothesis import assume
from hypothesis import strategies as st
from werkzeug.serving import make_server

from snippets import catalog, inbox, schemas
from snippets.payloads import sample_delivery
from snippets.send_test_event import load_or_create_key_pair, sign_delivery
from snippets.settings import (
    KEY_ID_HEADER,
    MAX_HEADER_LINE,
    MAX_HEADER_LINES,
    MAX_REQUEST_LINE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from tests.support.paths import ROOT

RECEIVE_PAGE = ROOT / "docs" / "receive.md"
MIB = 1024 * 1024


# --------------------------------------------------------------- the page's
# table
def documented_answers(page: Path = RECEIVE_PAGE) -> dict[str, int]:
    """``{case: status}`` from the table on the Receive deliveries page."""
    answers: dict[str, int] = {}
    for line in page.read_text().splitlines():
        match = re.match(
            r"^\|\s*\*\*(?P<case>[^*]+)\*\*\s*\|.*\|\s*`(?P<status>\d{3})",
            line,
        )
        if match:
            answers[match["case"]] = int(match["status"])
    assert answers, f"no answers table on {page}"
    return answers


@contextmanager
def inbox_dir(fallback: Path) -> Iterator[Path]:
    """A directory for inbox files: in memory (tmpfs) when the machine has one.

    The inbox asks for every commit to reach the disk before the receiver
    answers; on a busy disk that costs milliseconds a write, which is what
    production wants and not what these tests measure. The code under test is
    the same either way.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield fallback
        return
    directory = Path(tempfile.mkdtemp(prefix="inbox-", dir=shm))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def stored(path: Path) -> list[dict[str, Any]]:
    """Every delivery in the inbox file at ``path`` (none if it was never
    created)."""
    if not path.exists():
        return []
    with closing(sqlite3.connect(path)) as db:
        return [
            json.loads(body)
            for (body,) in db.execute("SELECT body FROM deliveries")
        ]


# -------------------------------------------------------------------- signing
@dataclass
class Signer:
    """Signs like the platform, with the local test key a receiver is told to
    trust."""

    private_key: rsa.RSAPrivateKey
    key_id: str
    jwks_path: Path

    def headers(
        self,
        body: bytes,
        timestamp: int | None = None,
        content_type: str | None = "application/json",
    ) -> dict[str, str]:
        when = int(time.time()) if timestamp is None else timestamp
        headers = sign_delivery(body, self.private_key, self.key_id, when)
        if content_type is not None:
            headers["Content-Type"] = content_type
        return headers


def make_signer(directory: Path) -> Signer:
    private_key, key_id = load_or_create_key_pair(directory)
    return Signer(private_key, key_id, directory / "jwks.json")


@cache
def stranger_key() -> rsa.RSAPrivateKey:
    """A key the receiver has never heard of."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def delivery_body(n: int) -> bytes:
    """A distinct, genuine-looking tracking update."""
    delivery = sample_delivery("track")
    delivery["data"]["tracking_number"] = f"9400{n:018d}"
    return json.dumps(delivery).encode()


# ---------------------------------------------------------------- bad
# deliveries
Headers = dict[str, str] | list[tuple[str, str]]


@dataclass
class Bad:
    label: str
    case: str  # the row of the page's table that covers it
    build: Callable[
        [Signer], tuple[str, Headers, Any]
    ]  # method, headers, body
    path: str = "/webhooks"


GOOD = json.dumps(sample_delivery("batch")).encode()


def _signed(body: bytes, **kwargs: Any) -> Callable[[Signer], tuple]:
    return lambda s: ("POST", s.headers(body, **kwargs), body)


def _without(*names: str) -> Callable[[Signer], tuple]:
    def build(s: Signer) -> tuple:
        headers = s.headers(GOOD)
        for name in names:
            del headers[name]
        return "POST", headers, GOOD

    return build


def _changed(
    name: str, value: Callable[[str], str]
) -> Callable[[Signer], tuple]:
    def build(s: Signer) -> tuple:
        headers = s.headers(GOOD)
        headers[name] = value(headers[name])
        return "POST", headers, GOOD

    return build


def _stranger(s: Signer) -> tuple:
    headers = sign_delivery(GOOD, stranger_key(), s.key_id, int(time.time()))
    return "POST", {**headers, "Content-Type": "application/json"}, GOOD


def _tampered(s: Signer) -> tuple:
    headers = s.headers(GOOD)
    return "POST", headers, GOOD.replace(b"se-28529731", b"se-28529732")


def _body_signed_without_timestamp(s: Signer) -> tuple:
    good = s.headers(GOOD)
    bare = sign_delivery(b"", s.private_key, s.key_id, 0)  # signs "0." alone
    return "POST", {**good, SIGNATURE_HEADER: bare[SIGNATURE_HEADER]}, GOOD


def _track_without(field_name: str) -> bytes:
    delivery = sample_delivery("track")
    del delivery["data"][field_name]
    return json.dumps(delivery).encode()


def _now() -> int:
    return int(time.time())


def _twice(name: str) -> Callable[[Signer], tuple]:
    """The genuine headers, with ``name`` sent twice (the same value)."""

    def build(s: Signer) -> tuple:
        headers = list(s.headers(GOOD).items())
        return "POST", [*headers, (name, dict(headers)[name])], GOOD

    return build


def _with_extra(value: bytes, where: str) -> bytes:
    """The sample tracking update with ``value`` (raw JSON) added."""
    text = json.dumps(sample_delivery("track"))
    if where == "data":
        return text.replace(
            '"data": {', '"data": {"x": ' + value.decode() + ", "
        ).encode()
    return b'{"x": ' + value + b", " + text[1:].encode()


def _genuine(method: str) -> Callable[[Signer], tuple]:
    return lambda s: (method, s.headers(GOOD), GOOD)


# Python's own HTTP servers (the tests' threads) read "//webhooks" as
# "/webhooks"; the production suite sends it to the production servers.
WRONG_PATHS = (
    "/webhooks/",
    "/webhooks//",
    "/webhooks/x",
    "/Webhooks",
    "/",
    "/docs",
    "/redoc",
    "/openapi.json",
)


_LONG = "a" * (MAX_REQUEST_LINE - len("POST /webhooks? HTTP/1.1") + 1)


def _padded(pads: list[tuple[str, str]]) -> Callable[[Signer], tuple]:
    return lambda s: ("POST", [*s.headers(GOOD).items(), *pads], GOOD)


BAD_DELIVERIES: list[Bad] = [
    Bad(
        "a request line one byte too long",
        "Line too long",
        _genuine("POST"),
        "/webhooks?" + _LONG,
    ),
    Bad(
        "a request line too long, to another path",
        "Line too long",
        _genuine("POST"),
        "/elsewhere?" + _LONG,
    ),
    Bad(
        "a request line too long, a GET",
        "Line too long",
        _genuine("GET"),
        "/webhooks?" + _LONG + "a",
    ),
    Bad(
        f"more than {MAX_HEADER_LINES} header lines",
        "Headers too large",
        _padded([(f"X-Pad-{n}", "1") for n in range(MAX_HEADER_LINES)]),
    ),
    Bad(
        "a header line one byte too long",
        "Headers too large",
        _padded([("X-Pad", "a" * (MAX_HEADER_LINE - len("X-Pad: \r\n") + 1))]),
    ),
    Bad("a body over 1 MiB, signed", "Too large", _signed(b"x" * (MIB + 1))),
    Bad(
        "a body over 1 MiB, unsigned",
        "Too large",
        lambda s: (
            "POST",
            {"Content-Type": "application/json"},
            b"[" * (2 * MIB),
        ),
    ),
    Bad(
        "a chunked body over 1 MiB, signed",
        "Too large",
        lambda s: ("POST", s.headers(b"x"), iter([b"x" * 65536] * 17)),
    ),
    Bad(
        "no signature headers",
        "Unsigned",
        lambda s: ("POST", {"Content-Type": "application/json"}, GOOD),
    ),
    Bad("no key id header", "Unsigned", _without(KEY_ID_HEADER)),
    Bad("no signature header", "Unsigned", _without(SIGNATURE_HEADER)),
    Bad("no timestamp header", "Unsigned", _without(TIMESTAMP_HEADER)),
    Bad(
        "an empty signature",
        "Unsigned",
        _changed(SIGNATURE_HEADER, lambda v: ""),
    ),
    Bad(
        "signed 6 minutes ago",
        "Stale",
        lambda s: ("POST", s.headers(GOOD, timestamp=_now() - 360), GOOD),
    ),
    Bad(
        "signed 6 minutes in the future",
        "Stale",
        lambda s: ("POST", s.headers(GOOD, timestamp=_now() + 360), GOOD),
    ),
    Bad(
        "a timestamp in milliseconds",
        "Stale",
        lambda s: ("POST", s.headers(GOOD, timestamp=_now() * 1000), GOOD),
    ),
    Bad(
        "a timestamp that is not a number",
        "Stale",
        _changed(TIMESTAMP_HEADER, "soon".format),
    ),
    Bad(
        "an unknown key id",
        "Forged",
        _changed(KEY_ID_HEADER, lambda v: v + "-old"),
    ),
    Bad(
        "a signature that is not base64",
        "Forged",
        _changed(SIGNATURE_HEADER, lambda v: "%%%" + v),
    ),
    Bad(
        "a signature cut short",
        "Forged",
        _changed(SIGNATURE_HEADER, lambda v: v[:40]),
    ),
    Bad("signed by another key under our key id", "Forged", _stranger),
    Bad("the body changed after signing", "Forged", _tampered),
    Bad(
        "the timestamp changed after signing",
        "Forged",
        _changed(TIMESTAMP_HEADER, lambda v: str(int(v) - 1)),
    ),
    Bad(
        "signed without the timestamp",
        "Forged",
        _body_signed_without_timestamp,
    ),
    Bad(
        "signed, but text/plain",
        "Wrong type",
        _signed(GOOD, content_type="text/plain"),
    ),
    Bad(
        "signed, but no Content-Type",
        "Wrong type",
        _signed(GOOD, content_type=None),
    ),
    Bad(
        "signed, but a form",
        "Wrong type",
        _signed(GOOD, content_type="application/x-www-form-urlencoded"),
    ),
    Bad("signed, but cut-off JSON", "Not JSON", _signed(GOOD[:-1])),
    Bad("signed, but an empty body", "Not JSON", _signed(b"")),
    Bad(
        "signed, but not UTF-8",
        "Not JSON",
        _signed(b'{"resource_url": "\xff"}'),
    ),
    Bad(
        "signed, but nested 100,000 deep",
        "Not JSON",
        _signed(b"[" * 100_000 + b"]" * 100_000),
    ),
    Bad("signed JSON array", "Not a delivery", _signed(b"[1, 2, 3]")),
    Bad("signed JSON string", "Not a delivery", _signed(b'"API_BATCH"')),
    Bad(
        "signed object without resource_type",
        "Not a delivery",
        _signed(
            b'{"resource_url": "https://api.yourstore.com/v1/batches/se-1"}'
        ),
    ),
    Bad(
        "tracking update without its data",
        "Not a delivery",
        _signed(b'{"resource_url": "u", "resource_type": "API_TRACK"}'),
    ),
    Bad(
        "tracking update without a status code",
        "Not a delivery",
        _signed(_track_without("status_code")),
    ),
    Bad("a GET", "Wrong method", lambda s: ("GET", s.headers(b""), b"")),
    Bad("a PUT", "Wrong method", lambda s: ("PUT", s.headers(GOOD), GOOD)),
    *(
        Bad(f"a genuine {method}", "Wrong method", _genuine(method))
        for method in ("OPTIONS", "HEAD", "DELETE", "PATCH")
    ),
    *(
        Bad(f"a genuine POST to {path}", "Wrong path", _genuine("POST"), path)
        for path in WRONG_PATHS
    ),
    Bad("the key id header twice", "Repeated", _twice(KEY_ID_HEADER)),
    Bad("the signature header twice", "Repeated", _twice(SIGNATURE_HEADER)),
    Bad("the timestamp header twice", "Repeated", _twice(TIMESTAMP_HEADER)),
    *(
        Bad(
            f"signed, with {raw.decode()[:12]} in {where}",
            "Unstorable",
            _signed(_with_extra(raw, where)),
        )
        for raw in (
            b"NaN",
            b"-Infinity",
            b"1e999",
            b'"\\ud800"',
            b'{"\\udfff": 1}',
            b"[" * 40 + b"]" * 40,
        )
        for where in ("data", "the top level")
    ),
]


# ------------------------------------------------- request lines and headers
@dataclass
class Head:
    """A request whose line or headers sit at a limit or one byte (or line)
    past it."""

    label: str
    data: bytes  # the whole request, as sent
    status: int  # 204 at the limit (a genuine delivery), else 414 or 431


def raw_request(
    target: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    method: str = "POST",
) -> bytes:
    """One HTTP/1.1 request, byte for byte: no header added or merged."""
    lines = [f"{method} {target} HTTP/1.1", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def heads_at_the_limits(signer: Signer) -> list[Head]:
    """Genuine deliveries with a request line, a header line or a number of
    header lines exactly at each limit (204), and the same one over (414 or
    431), on the receiver's path and off it."""
    found: list[Head] = []
    counter = iter(range(10**6))

    def genuine(extra: list) -> tuple[list[tuple[str, str]], bytes]:
        body = delivery_body(90_000 + next(counter))
        headers = [
            ("Host", "127.0.0.1"),
            *signer.headers(body).items(),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            *extra,
        ]
        return headers, body

    def add(label: str, status: int, target: str, extra: list, **kw: str):
        headers, body = genuine(extra)
        found.append(Head(label, raw_request(target, headers, body, **kw),
                          status))  # fmt: skip

    fill = MAX_REQUEST_LINE - len("POST /webhooks? HTTP/1.1")
    add("a request line at the limit", 204, "/webhooks?" + "a" * fill, [])
    add("a request line one byte over", 414,
        "/webhooks?" + "a" * (fill + 1), [])  # fmt: skip
    add("a request line over, another path", 414,
        "/elsewhere?" + "a" * fill, [])  # fmt: skip
    add("a request line over, a GET", 414,
        "/webhooks?" + "a" * (fill + 2), [], method="GET")  # fmt: skip
    value = "a" * (MAX_HEADER_LINE - len("X-Pad: \r\n"))
    add("a header line at the limit", 204, "/webhooks", [("X-Pad", value)])
    add("a header line one byte over", 431, "/webhooks",
        [("X-Pad", value + "a")])  # fmt: skip
    add("a header line over, another path", 431, "/elsewhere",
        [("X-Pad", value + "a")])  # fmt: skip
    base = len(genuine([])[0])
    pads = [(f"X-Pad-{n}", "1") for n in range(MAX_HEADER_LINES - base + 1)]
    add("header lines at the limit", 204, "/webhooks", pads[:-1])
    add("one header line too many", 431, "/webhooks", pads)
    add("one header line too many, another path", 431, "/elsewhere", pads)
    return found


def status_line(sock: socket.socket) -> bytes:
    """What the server sends up to the end of its first line (b"" if it
    closes the connection first)."""
    reply = b""
    while b"\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return reply


def raw_answer(url: str, data: bytes, wait: float = 15) -> str:
    """Send ``data`` as it is; the status of the answer, or "closed"."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        try:
            sock.sendall(data)
            reply = status_line(sock)
        except (ConnectionResetError, BrokenPipeError):
            return "closed"
    return reply.split(b" ", 2)[1].decode() if reply else "closed"


# ----------------------------------------------------------------- live
# servers
def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    return sock


class ThreadServer:
    """A receiver app served on a thread of the test process."""

    def __init__(self, kind: str, app: Any) -> None:
        self.kind = kind
        self.sock = listening_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/webhooks"
        if kind == "flask":
            self._server = make_server(
                "127.0.0.1", 0, app, threaded=True, fd=self.sock.fileno()
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,)
            )
        else:
            config = uvicorn.Config(app, log_level="warning", lifespan="off")
            self._uvicorn = uvicorn.Server(config)
            self._thread = threading.Thread(
                target=lambda: asyncio.run(
                    self._uvicorn.serve(sockets=[self.sock])
                )
            )
        self._thread.start()

    def stop(self) -> None:
        if self.kind == "flask":
            self._server.shutdown()
            self._server.server_close()
        else:
            self._uvicorn.should_exit = True
        self._thread.join(timeout=30)
        self.sock.close()


def send(
    base: str, method: str, path: str, headers: Headers, body: Any
) -> tuple[int, dict[str, str]]:
    """One request over a fresh connection, headers exactly as given (a
    repeated one included); an iterable body goes chunked. Status and
    headers of the answer."""
    host, port = base.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=15)
    try:
        connection.putrequest(
            method, path, skip_host=False, skip_accept_encoding=True
        )
        pairs = list(headers.items() if isinstance(headers, dict) else headers)
        chunked = body is not None and not isinstance(body, bytes)
        for name, value in pairs:
            connection.putheader(name, value)
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        elif method not in ("GET", "HEAD") or body:
            connection.putheader("Content-Length", str(len(body or b"")))
        connection.endheaders()
        try:  # the server may answer and close before the body is sent
            if chunked:
                for chunk in body:
                    connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                connection.send(b"0\r\n\r\n")
            elif body:
                connection.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            response = connection.getresponse()
        except (ConnectionError, http.client.RemoteDisconnected):
            return 0, {}  # the server closed the connection: no answer
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


@dataclass
class Receiver:
    """One of the two receivers: its kind ("flask" or "fastapi") and
    module."""

    kind: str
    module: Any

    @property
    def keys(self) -> Any:
        app = self.module.app
        if self.kind == "flask":
            return app.config["SIGNING_KEYS"]
        return app.state.signing_keys

    @keys.setter
    def keys(self, keys: Any) -> None:
        app = self.module.app
        if self.kind == "flask":
            app.config["SIGNING_KEYS"] = keys
        else:
            app.state.signing_keys = keys

    @contextmanager
    def trusting(self, keys: Any) -> Iterator[None]:
        """The app verifies with ``keys`` while the block runs."""
        before, self.keys = self.keys, keys
        try:
            yield
        finally:
            self.keys = before

    def poster(self) -> Callable[[dict[str, str], bytes], int]:
        """POST to the app through its framework's test client (no
        socket)."""
        if self.kind == "flask":
            client = self.module.app.test_client()
            return lambda headers, body: (
                client.post(
                    "/webhooks", data=body, headers=headers
                ).status_code
            )
        asgi = TestClient(self.module.app)
        return lambda headers, body: (
            asgi.post("/webhooks", content=body, headers=headers).status_code
        )


@contextmanager
def thread_server(kind: str, app: Any) -> Iterator[ThreadServer]:
    server = ThreadServer(kind, app)
    try:
        yield server
    finally:
        server.stop()


# ----------------------------------------------------------------------- load
@dataclass
class LoadResult:
    distinct: int
    sent: int  # requests that got an answer (retries included)
    statuses: dict[int, int] = field(default_factory=dict)
    retried: int = 0  # attempts that failed on the wire and were sent again
    seconds: float = 0.0


@dataclass
class Load:
    bodies: list[bytes]  # the distinct deliveries
    requests: list[tuple[bytes, dict[str, str]]]  # what to send, in order
    signed_at: float


_LOADS: dict[str, Load] = {}


def signed_load(
    signer: Signer,
    distinct: int = 1000,
    duplicate_share: float = 0.2,
    seed: int = 4,
) -> Load:
    """``distinct`` signed deliveries, a share of them twice, shuffled.

    Each copy is signed separately, as a redelivery is. Signing 1,200 bodies
    takes seconds, so the load is shared between tests while its timestamps are
    fresh.
    """
    cached = _LOADS.get(signer.key_id)
    if cached is not None and time.time() - cached.signed_at < 180:
        return cached
    rng = random.Random(seed)
    bodies = [delivery_body(n) for n in range(distinct)]
    twice = rng.sample(range(distinct), int(distinct * duplicate_share))
    order = list(range(distinct)) + twice
    rng.shuffle(order)
    signed_at = time.time()
    load = Load(
        bodies,
        [(bodies[i], signer.headers(bodies[i])) for i in order],
        signed_at,
    )
    _LOADS[signer.key_id] = load
    return load


def send_load(
    url: str,
    load: Load,
    workers: int = 16,
    on_answer: Callable[[int], None] | None = None,
) -> LoadResult:
    """Send the load over ``workers`` connections at once; like the platform,
    send a
    delivery again when its connection fails or it gets a 5xx."""
    result = LoadResult(distinct=len(load.bodies), sent=0)
    lock = threading.Lock()
    local = threading.local()

    def post(item: tuple[bytes, dict[str, str]]) -> None:
        body, headers = item
        if not hasattr(local, "session"):
            local.session = requests.Session()
        for _ in range(50):
            try:
                status = local.session.post(
                    url, data=body, headers=headers, timeout=15
                ).status_code
            except requests.ConnectionError:
                local.session = requests.Session()
                with lock:
                    result.retried += 1
                continue
            with lock:
                result.sent += 1
                result.statuses[status] = result.statuses.get(status, 0) + 1
                answered = result.sent
            if on_answer is not None:
                on_answer(answered)
            if status < 500:
                return
        raise AssertionError("a delivery could not be sent in 50 attempts")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(post, load.requests))
    result.seconds = time.perf_counter() - started
    return result


# -------------------------------------------------------------------- workers
class Tally:
    """Handlers for every event that count how often each delivery was
    processed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.processed: dict[str, int] = {}
        self.handlers = {e.resource_type: self.record for e in catalog.EVENTS}

    def record(self, delivery: dict[str, Any]) -> None:
        key = json.dumps(delivery, sort_keys=True)
        with self.lock:
            self.processed[key] = self.processed.get(key, 0) + 1

    def expect_each_once(self, bodies: list[bytes]) -> None:
        expected = {json.dumps(json.loads(b), sort_keys=True) for b in bodies}
        assert len(expected) == len(bodies)
        missing = expected - set(self.processed)
        extra = set(self.processed) - expected
        twice = [k for k, n in self.processed.items() if n != 1]
        assert not missing, f"{len(missing)} deliveries never processed"
        assert not extra, f"{len(extra)} processed deliveries were never sent"
        assert not twice, f"{len(twice)} deliveries processed more than once"


@contextmanager
def workers(path: Path, tally: Tally, count: int = 2) -> Iterator[None]:
    """``count`` worker threads, each with its own connection, draining the
    inbox
    while the block runs and until it is empty afterwards."""
    finished = threading.Event()

    class Finished(Exception):
        pass

    def rest(seconds: float) -> None:
        if finished.is_set():
            raise Finished
        finished.wait(0.01)  # woken at once when the load is over

    def run() -> None:
        box = inbox.Inbox(str(path))
        try:
            inbox.work(box, tally.handlers, idle=0.01, sleep=rest)
        except Finished:
            inbox.drain(box, tally.handlers)
        finally:
            box.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        finished.set()
        for thread in threads:
            thread.join(timeout=60)


# ---------------------------------------------------------------- property
# test
MODES = (
    "valid",
    "unsigned",
    "partial",
    "stale",
    "stranger",
    "tampered",
    "scrambled",
)
_printable = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40
)
# Any text, lone surrogates included (json.dumps writes them as \udXXX
# escapes, which Python's parser accepts and UTF-8 cannot store).
_any_text = st.text(
    alphabet=st.characters() | st.characters(categories=["Cs"]), max_size=12
)
_text = _printable | _any_text
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN, Infinity and -Infinity among them
    | _text,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def _deeply_nested(draw: st.DrawFn) -> Any:
    """A value in 20 to 200 levels of arrays and objects.

    The levels are laid out by one seeded ``Random`` from a few drawn keys:
    two draws per level made this strategy most of the test's time."""
    value: Any = draw(st.none() | st.integers() | _text)
    keys = draw(st.lists(_text, min_size=1, max_size=4))
    shape = draw(st.randoms(use_true_random=False))
    for _ in range(draw(st.integers(20, 200))):
        value = (
            [value] if shape.random() < 0.5 else {shape.choice(keys): value}
        )
    return value


_values = _json | _deeply_nested()


@st.composite
def _mutated_delivery(draw: st.DrawFn) -> bytes:
    delivery = sample_delivery(
        draw(st.sampled_from([e.value for e in catalog.EVENTS]))
    )
    target = (
        delivery["data"]
        if "data" in delivery and draw(st.booleans())
        else delivery
    )
    key = draw(st.sampled_from([*target, "extra"]) | _text)
    if draw(st.booleans()):
        target.pop(key, None)
    else:
        target[key] = draw(_values)
    return json.dumps(delivery).encode()


BODIES = st.one_of(
    st.sampled_from(
        [json.dumps(sample_delivery(e.value)).encode() for e in catalog.EVENTS]
    ),
    _mutated_delivery(),
    _values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=300),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
         "text/plain", "application/x-www-form-urlencoded", None]
    ),
    _printable,
)  # fmt: skip
SIGNATURE_NAMES = (KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER)


@st.composite
def requests_to_send(
    draw: st.DrawFn, signer: Signer
) -> tuple[str, dict[str, str], bytes]:
    """(mode, headers, body): a delivery signed well, badly or not at all."""
    body = draw(BODIES)
    mode = draw(st.sampled_from(MODES))
    content_type = draw(CONTENT_TYPES)
    now = int(time.time())
    skew = draw(st.integers(-280, 280))  # within the five minutes: still valid
    if mode == "stale":
        skew = draw(st.sampled_from([-1, 1])) * draw(st.integers(310, 10**6))
    headers = signer.headers(
        body, timestamp=now + skew, content_type=content_type
    )
    if mode == "unsigned":
        headers = {
            k: v for k, v in headers.items() if k not in SIGNATURE_NAMES
        }
    elif mode == "partial":
        for name in draw(
            st.sets(st.sampled_from(SIGNATURE_NAMES), min_size=1)
        ):
            del headers[name]
    elif mode == "stranger":
        headers.update(sign_delivery(body, stranger_key(), signer.key_id, now))
    elif mode == "tampered":
        body = body + draw(st.binary(min_size=1, max_size=5))
    elif mode == "scrambled":
        name = draw(st.sampled_from(SIGNATURE_NAMES))
        value = draw(_printable)
        assume(value != headers[name])
        headers[name] = value
    return mode, headers, body


def check_property(
    post: Callable[[dict[str, str], bytes], int],
    stored: Callable[[], list[dict[str, Any]]],
    signed: set[str],
    mode: str,
    headers: dict[str, str],
    body: bytes,
) -> None:
    """Never a 5xx; a 2xx only for a genuine delivery; only genuine ones
    stored."""
    if mode == "valid":
        with suppress(ValueError, RecursionError):
            signed.add(json.dumps(inbox.parse_delivery(body), sort_keys=True))
    status = post(headers, body)
    assert status < 500, (status, mode, headers, body[:100])
    if status < 300:
        assert mode == "valid", (status, mode)
    for delivery in stored():
        assert json.dumps(delivery, sort_keys=True) in signed, (
            "unverified delivery stored"
        )
    content_type = headers.get("Content-Type") or ""
    json_type = (
        content_type.split(";")[0].strip().lower() == "application/json"
    )
    if mode == "valid" and json_type:
        try:
            parsed = inbox.parse_delivery(body)
        except ValueError:
            assert status == 400, (status, body[:100])
            return
        if not schemas.problems("delivery", parsed):
            assert status == 204, (
                f"a genuine delivery was refused with {status}"
            )
