"""Both receivers under their documented production commands, over real
HTTP on 127.0.0.1 (page: docs/receive-production.md).

The commands come from the page and the nginx server block from the file the
page embeds (``tests/support/production.py``). The receivers verify with
the platform's key set, served here by the fake API.
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from snippets import catalog
from snippets.payloads import sample_delivery
from snippets.send_test_event import sign_delivery
from snippets.settings import KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from tests.support import load, production
from tests.support.fake_api import FakeApi
from tests.support.reader import Reader
from tests.support.receivers import (
    Signer,
    heads_at_the_limits,
    raw_answer,
    status_line,
    stored,
    stranger_key,
)
from tests.support.servers import LiveServer

MIB = 1024 * 1024
GOOD = json.dumps(sample_delivery("batch")).encode()


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def key_server(signer: Signer) -> Iterator[str]:
    """The platform's JWKS, served on 127.0.0.1 (YOURSTORE_API_BASE)."""
    fake = FakeApi()
    fake.jwks = json.loads(signer.jwks_path.read_text())
    with LiveServer(fake.wsgi_app) as server:
        yield server.url


@dataclass
class Stack:
    app: production.ProductionServer
    inbox: Path
    nginx: production.Nginx | None


@pytest.fixture(scope="module")
def stack(
    receiver,
    key_server: str,
    tmp_path_factory: pytest.TempPathFactory,
    built_site: Path,
) -> Iterator[Stack]:
    """The receiver under its production command, run in a folder holding its
    download as a reader's does, nginx in front of it."""
    directory = tmp_path_factory.mktemp(f"prod-{receiver.kind}")
    Reader(built_site, directory).download(f"receive_{receiver.kind}.py")
    path = directory / "inbox.sqlite3"
    app = production.ProductionServer(
        receiver.kind, path, key_server, directory
    )
    app.start()
    app.ready()
    nginx = None
    if production.nginx_available():
        nginx_dir = directory / "nginx"
        nginx_dir.mkdir()
        nginx = production.Nginx(nginx_dir, app.port)
    try:
        yield Stack(app, path, nginx)
    finally:
        if nginx is not None:
            nginx.stop()
        app.stop()


# ----------------------------------------------------------- raw requests
def request(
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    length: bool = True,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def signed(body: bytes, **changes: str) -> list[tuple[str, str]]:
    """Content-Type and a genuine signature of ``body``, changed as asked."""
    headers = {"Content-Type": "application/json"}
    headers.update(SIGNER.headers(body, content_type=None))
    headers.update(changes)
    return [(k, v) for k, v in headers.items() if v is not None]


@dataclass
class Hostile:
    kind: str
    label: str
    data: bytes
    hang_up: bool = False  # close right after sending
    direct: bool = True  # also sent to the bare app server


def _chunked(body: bytes, size: int = 1000) -> bytes:
    out = b""
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out += b"%x\r\n%s\r\n" % (len(piece), piece)
    return out + b"0\r\n\r\n"


HEAD = b"POST /webhooks HTTP/1.1\r\nHost: x\r\n"
Add = Callable[..., None]  # add(kind, label, data, **options)


def _signatures(add: Add) -> None:
    """Unsigned, mis-signed and stale: each event, and a good body."""
    now = int(time.time())
    events = [sample_delivery(e.value) for e in catalog.EVENTS]
    bodies = [json.dumps(e).encode() for e in events]
    for event, body in zip(catalog.EVENTS, bodies, strict=True):
        name = event.value
        add("unsigned", f"{name}, unsigned", request("POST", "/webhooks",
            [("Content-Type", "application/json")], body))  # fmt: skip
        for header in (KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER):
            add("unsigned", f"{name}, no {header}", request("POST",
                "/webhooks", signed(body, **{header: None}), body))  # fmt: skip
        stranger = sign_delivery(body, stranger_key(), SIGNER.key_id, now)
        add("mis-signed", f"{name}, another key", request("POST", "/webhooks",
            [("Content-Type", "application/json"), *stranger.items()], body))  # fmt: skip
        add("mis-signed", f"{name}, tampered", request("POST", "/webhooks",
            signed(body), body.replace(b'"resource_type"', b'"resource_type" ')))  # fmt: skip
        add("mis-signed", f"{name}, unknown key id", request("POST",
            "/webhooks", signed(body, **{KEY_ID_HEADER: "old-key"}), body))  # fmt: skip
        for skew in (-400, 400):
            add("stale", f"{name}, signed {skew} s off", request("POST",
                "/webhooks", [("Content-Type", "application/json"),
                *SIGNER.headers(body, now + skew, None).items()], body))  # fmt: skip
    for value in ("soon", str(now * 1000), "-1", " 1"):
        add("stale", f"timestamp {value!r}", request("POST", "/webhooks",
            signed(GOOD, **{TIMESTAMP_HEADER: value}), GOOD))  # fmt: skip
    add("mis-signed", "signature not base64", request("POST", "/webhooks",
        signed(GOOD, **{SIGNATURE_HEADER: "%%%"}), GOOD))  # fmt: skip


def _malformed_bodies(add: Add) -> None:
    """Genuinely signed bodies the inbox cannot store."""
    track = json.dumps(sample_delivery("track"))
    for label, body in [
        ("cut-off JSON", GOOD[:-1]),
        ("empty", b""),
        ("not UTF-8", b'{"resource_url": "\xff"}'),
        ("NaN", track.replace('"status_code": "DE"', '"status_code": NaN').encode()),
        ("Infinity at the top", b'{"x": Infinity, ' + track[1:].encode()),
        ("1e999 in data", track.replace('"data": {', '"data": {"x": 1e999, ').encode()),
        ("a lone surrogate key", track.replace('"data": {', '"data": {"\\ud800": 1, ').encode()),
        ("a lone surrogate value", track.replace('"DE"', '"\\udfff"', 1).encode()),
        ("40 levels deep", b'{"x": ' + b"[" * 40 + b"]" * 40 + b", " + track[1:].encode()),
        ("100,000 levels deep", b"[" * 100_000 + b"]" * 100_000),
        ("a JSON array", b"[1, 2]"),
        ("no resource_type", b'{"resource_url": "u"}'),
    ]:  # fmt: skip
        add("malformed body", label, request("POST", "/webhooks",
            signed(body), body))  # fmt: skip
    add("malformed body", "text/plain", request("POST", "/webhooks",
        signed(GOOD, **{"Content-Type": "text/plain"}), GOOD))  # fmt: skip


def _malformed_framing(add: Add) -> None:
    """Requests whose HTTP framing is wrong."""
    for label, data in [
        ("two Content-Lengths", HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x"),
        ("Content-Length and chunked", HEAD + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("a Content-Length that is not a number", HEAD + b"Content-Length: ten\r\n\r\n"),
        ("a negative Content-Length", HEAD + b"Content-Length: -5\r\n\r\n"),
        ("a bad chunk size", HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"),
        ("an unknown transfer coding", HEAD + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
        ("HTTP/9.9", b"POST /webhooks HTTP/9.9\r\nHost: x\r\n\r\n"),
        ("a space in the header name", HEAD + b"Bad Header: 1\r\nContent-Length: 0\r\n\r\n"),
        ("no Host", b"POST /webhooks HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
    ]:  # fmt: skip
        add("malformed framing", label, data)


def _big_heads(add: Add) -> None:
    """Signature headers sent twice, and heads over the limits."""
    for header in (KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER):
        headers = signed(GOOD)
        headers.append((header, dict(headers)[header]))
        add("repeated or oversized headers", f"{header} twice",
            request("POST", "/webhooks", headers, GOOD))  # fmt: skip
    add("repeated or oversized headers", "a 20 KB header", request("POST",
        "/webhooks", [*signed(GOOD), ("X-Big", "a" * 20_000)], GOOD))  # fmt: skip
    add("repeated or oversized headers", "500 headers, 40 KB", request("POST",
        "/webhooks", [*signed(GOOD), *((f"X-{n}", "a" * 70) for n in range(500))], GOOD))  # fmt: skip
    add("repeated or oversized headers", "a 9 KB path", request("POST",
        "/webhooks?" + "a" * 9000, signed(GOOD), GOOD))  # fmt: skip


def _wrong_targets(add: Add) -> None:
    """Signed deliveries to another method or path."""
    for method in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
        add("wrong method or path", method, request(method, "/webhooks",
            signed(GOOD), GOOD))  # fmt: skip
    for path in ("/webhooks/", "//webhooks", "/webhooks//", "/docs",
                 "/openapi.json", "/redoc", "/", "/static/x", "/WEBHOOKS"):  # fmt: skip
        add(
            "wrong method or path",
            path,
            request("POST", path, signed(GOOD), GOOD),
        )


def _big_or_chunked_bodies(add: Add) -> None:
    """Bodies over 1 MiB, and chunked ones."""
    big = b'{"x": "' + b"a" * MIB + b'"}'
    add("oversize or chunked body", "over 1 MiB, signed", request("POST",
        "/webhooks", signed(big), big))  # fmt: skip
    add("oversize or chunked body", "over 1 MiB, chunked", request("POST",
        "/webhooks", [*signed(big), ("Transfer-Encoding", "chunked")],
        _chunked(big, 65536), length=False))  # fmt: skip
    add("oversize or chunked body", "Content-Length of 5 GB", request("POST",
        "/webhooks", signed(GOOD), b"", length=False)[:-4]
        + b"\r\nContent-Length: 5000000000\r\n\r\n")  # fmt: skip
    add("oversize or chunked body", "chunked, tampered", request("POST",
        "/webhooks", [*signed(GOOD), ("Transfer-Encoding", "chunked")],
        _chunked(GOOD.replace(b"se-", b"sf-"), 7), length=False))  # fmt: skip
    add("oversize or chunked body", "chunked, unsigned", request("POST",
        "/webhooks", [("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked")], _chunked(GOOD, 5), length=False))  # fmt: skip


def _not_http(add: Add) -> None:
    """Bytes of other protocols, sent to nginx only."""
    hello = (
        bytes.fromhex("16030100a5010000a10303") + bytes(range(32)) + bytes(130)
    )
    for label, data in [
        ("a TLS handshake", hello),
        ("an HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("an SSH banner", b"SSH-2.0-OpenSSH_9.2\r\n"),
        ("NUL bytes", bytes(200) + b"\r\n\r\n"),
        ("random bytes", random.Random(7).randbytes(300)),
        ("SMTP", b"EHLO example.com\r\n"),
    ]:  # fmt: skip
        add("not HTTP", label, data, direct=False)


def _stalls_and_hang_ups(add: Add) -> None:
    """Requests cut short: left waiting, or hung up on."""
    for label, data in [
        ("connects, sends nothing", b""),
        ("half a request line", b"POST /webh"),
        ("headers, no blank line", HEAD + b"Content-Length: 10\r\n"),
        ("half the body", request("POST", "/webhooks", signed(GOOD), GOOD)[:-20]),
        ("half a chunk", request("POST", "/webhooks", [*signed(GOOD),
            ("Transfer-Encoding", "chunked")], b"ff\r\nabc", length=False)),
    ]:  # fmt: skip
        add("stall or hang up", f"{label}, stalls", data, direct=False)
        add("stall or hang up", f"{label}, hangs up", data, hang_up=True)


def hostile_inputs() -> list[Hostile]:
    found: list[Hostile] = []

    def add(kind: str, label: str, data: bytes, **options: bool) -> None:
        found.append(Hostile(kind, label, data, **options))

    for kind in (
        _signatures,
        _malformed_bodies,
        _malformed_framing,
        _big_heads,
        _wrong_targets,
        _big_or_chunked_bodies,
        _not_http,
        _stalls_and_hang_ups,
    ):
        kind(add)
    return found


def answer(port: int, item: Hostile, wait: float = 8.0) -> str:
    """The status the server answered, "closed", or "hang"."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.settimeout(wait)
        try:
            if item.data:
                sock.sendall(item.data)
            if item.hang_up:
                return "closed"
            reply = status_line(sock)
        except TimeoutError:
            return "hang"
        except (ConnectionResetError, BrokenPipeError):
            return "closed"
    if not reply:
        return "closed"
    return reply.split(b" ", 2)[1].decode(errors="replace")


SIGNER: Signer


@pytest.fixture(autouse=True)
def _signer(signer: Signer) -> None:
    global SIGNER
    SIGNER = signer


def test_at_least_100_hostile_inputs_at_least_5_of_each_kind():
    kinds = Counter(item.kind for item in hostile_inputs())

    assert sum(kinds.values()) >= 100
    assert len(kinds) == 10
    assert min(kinds.values()) >= 5, kinds


def _hostile_run(port: int, items: list[Hostile]) -> dict[str, str]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda item: answer(port, item), items))
    return {
        f"{i.kind}: {i.label}": a for i, a in zip(items, answers, strict=True)
    }


def _refused(answer_: str) -> bool:
    return answer_ == "closed" or (answer_.isdigit() and answer_[0] == "4")


def test_hostile_inputs_through_nginx_get_a_4xx_or_a_closed_connection(
    stack: Stack, receiver
):
    reason = production.skip_without_nginx()
    if reason:
        pytest.skip(reason)
    items = hostile_inputs()

    answers = _hostile_run(stack.nginx.port, items)

    wrong = {label: a for label, a in answers.items() if not _refused(a)}
    assert not wrong, wrong
    assert stored(stack.inbox) == []
    print(f"\n{receiver.kind} behind nginx: {len(items)} inputs,",
          dict(Counter(answers.values())))  # fmt: skip


def test_hostile_inputs_to_the_app_server_get_a_4xx_or_a_closed_connection(
    stack: Stack, receiver
):
    """What needs no proxy: everything but bytes that are not HTTP and
    stalled clients, which the page sends nginx to deal with."""
    items = [item for item in hostile_inputs() if item.direct]

    answers = _hostile_run(stack.app.port, items)

    wrong = {label: a for label, a in answers.items() if not _refused(a)}
    assert not wrong, wrong
    assert stored(stack.inbox) == []
    assert "Traceback" not in stack.app.output()
    print(f"\n{receiver.kind} alone: {len(items)} inputs,",
          dict(Counter(answers.values())))  # fmt: skip


def test_with_more_stalled_clients_than_workers_a_delivery_gets_204_at_once(
    stack: Stack, signer: Signer
):
    reason = production.skip_without_nginx()
    if reason:
        pytest.skip(reason)
    stalled = []
    for _ in range(40):  # the page runs 2 workers (8 threads under gunicorn)
        sock = socket.create_connection(("127.0.0.1", stack.nginx.port), 5)
        sock.sendall(b"POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Len")
        stalled.append(sock)
    body = json.dumps(sample_delivery("rate")).encode()
    started = time.monotonic()
    try:
        status = answer(
            stack.nginx.port,
            Hostile(
                "genuine", "", request("POST", "/webhooks", signed(body), body)
            ),
        )
        took = time.monotonic() - started
    finally:
        for sock in stalled:
            sock.close()

    assert status == "204"
    assert took < 5
    assert sample_delivery("rate") in stored(stack.inbox)


def test_a_client_that_hangs_up_mid_body_is_one_log_line(stack: Stack):
    before = stack.app.output()
    body = json.dumps(sample_delivery("batch")).encode()
    data = request("POST", "/webhooks", signed(body), body)[:-10]

    # gunicorn's threaded worker may close a hung-up connection before the
    # app sees it, logging that at debug level only (gthread.py: "Ignored
    # premature client disconnection", "Ignoring connection reset"): a hang-up
    # is then no line at all. So up to three hang-ups, until one reaches the
    # app; each may leave at most its one line.
    for _ in range(3):
        assert (
            answer(stack.app.port, Hostile("", "", data, hang_up=True))
            == "closed"
        )
        deadline = time.monotonic() + 10
        while "hung up" not in stack.app.output()[len(before) :]:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            break
    time.sleep(0.2)
    new = [
        line
        for line in stack.app.output()[len(before) :].splitlines()
        # uvicorn's access log line, and its lines about a worker process
        # (re)starting, which may land in the same moment
        if "POST /webhooks" not in line and not line.startswith("INFO:")
    ]
    assert new == ["a client hung up before sending the whole body"], new


def test_both_servers_refuse_at_the_same_limits(stack: Stack, signer: Signer):
    """At a limit a genuine delivery gets 204; a byte or a line past it, 414
    or 431: gunicorn's options and the receivers' own checks agree."""
    heads = heads_at_the_limits(signer)
    before = len(stored(stack.inbox))

    answers = {h.label: raw_answer(stack.app.url, h.data) for h in heads}

    assert answers == {head.label: str(head.status) for head in heads}
    assert len(stored(stack.inbox)) == before + 3


# ----------------------------------------------------------------------- load
@pytest.mark.load
@pytest.mark.parametrize("kill", load.KILLS)
def test_under_load_a_kill_loses_nothing_and_processes_no_update_twice(
    receiver,
    key_server: str,
    signer: Signer,
    kill: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    built_site: Path,
):
    """1,000 deliveries, a fifth of them twice, with ``kill -9`` halfway;
    the figures go to load-<receiver>-<kill>.json in pytest's base temp."""
    figures = load.run(
        receiver.kind, kill, tmp_path, key_server, signer, built_site
    )

    out = tmp_path_factory.getbasetemp() / f"load-{receiver.kind}-{kill}.json"
    out.write_text(figures.as_json())
    print(f"\n{figures.summary()}")
    assert figures.deliveries >= 1000
    assert figures.copies >= 1200
    assert figures.lost == 0
    assert figures.not_acknowledged == 0
    assert figures.doubled == 0
    assert figures.broken_rule == []
    assert figures.thin_repeats >= 50  # the rule was put to the test
    assert "killed" in figures.killed
    assert figures.statuses.get("failed", 0) > 0  # requests cut in flight
    assert figures.notes == []


# ---------------------------------------------------------- page and tools
@pytest.mark.parametrize("kind", ["flask", "fastapi"])
def test_the_production_command_runs_workers_on_port_5000(kind):
    """(Its options are checked against the server's --help with every
    other command on the page: tests/site/test_blocks.py.)"""
    env, words = production.page_command(kind)

    assert "--workers" in words
    assert env["YOURSTORE_INBOX_PATH"]
    assert any("5000" in word for word in words)


def test_the_nginx_configuration_passes_nginx_t(tmp_path):
    reason = production.skip_without_nginx()
    if reason:
        pytest.skip(reason)

    result = production.nginx_test(production.nginx_config(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    block = production.server_block()
    assert "proxy_pass http://127.0.0.1:5000;" in block
    assert "client_max_body_size 1m;" in block


def test_a_broken_nginx_configuration_fails_nginx_t(tmp_path):
    reason = production.skip_without_nginx()
    if reason:
        pytest.skip(reason)
    config = production.nginx_config(tmp_path)
    server = tmp_path / "server.conf"
    server.write_text(
        server.read_text().replace(
            "client_body_timeout", "client_body_timeoutt"
        )
    )

    assert production.nginx_test(config).returncode != 0


def test_without_nginx_its_tests_skip_with_a_reason_except_under_ci(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(production, "NGINX", tmp_path / "no-nginx")
    monkeypatch.delenv("CI", raising=False)

    assert "apt-get install nginx-light" in production.skip_without_nginx()

    monkeypatch.setenv("CI", "true")
    with pytest.raises(AssertionError, match=r"\.ci/run installs nginx"):
        production.skip_without_nginx()
