"""The fake API served over real HTTP on 127.0.0.1, for tests that need urllib3
to run.

requests-mock swaps the transport adapter out, so the ``Retry`` the client
session mounts never sees a response. These fixtures put
:meth:`FakeApi.wsgi_app` behind a real socket on a thread instead, point the
snippets at it, and replace urllib3's ``time.sleep`` with a recorder that moves
the fake's clock, so a test can assert how long the session would have waited
without waiting at all.

A test module loads the fixtures with ``pytest_plugins =
["tests.live_server"]``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from types import SimpleNamespace
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import urllib3.util.retry

import snippets.client
from tests.fake_api import FakeApi


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class LiveServer:
    """A WSGI app served on 127.0.0.1 on a free port, on a daemon thread."""

    def __init__(self, app: Any) -> None:
        self._server = make_server(
            "127.0.0.1",
            0,
            app,
            server_class=_ThreadingServer,
            handler_class=_QuietHandler,
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self._thread.daemon = True

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait urllib3's ``Retry`` asks for, recorded instead of slept."""
    waited: list[float] = []
    fake_time = SimpleNamespace(sleep=waited.append, time=time.time)
    monkeypatch.setattr(urllib3.util.retry, "time", fake_time)
    return waited


@pytest.fixture
def live_api(
    api_key: str, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeApi]:
    """The fake API over real HTTP; the snippets' API_BASE points at it.

    urllib3's sleeps are recorded in ``sleeps`` and advance the fake's clock,
    so a 429's ``Retry-After`` really ends the rate-limit window the fake
    enforces.
    """
    fake = FakeApi(api_key=api_key)

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        fake.advance(seconds)

    fake_time = SimpleNamespace(sleep=sleep, time=time.time)
    monkeypatch.setattr(urllib3.util.retry, "time", fake_time)
    with LiveServer(fake.wsgi_app) as server:
        fake.base_url = server.url
        monkeypatch.setattr(snippets.client, "API_BASE", server.url)
        yield fake
    assert not fake.unexpected, (
        f"requests the fake does not serve: {fake.unexpected}"
    )


class SilentServer:
    """Accepts connections on 127.0.0.1, never answers.

    :meth:`connections` counts every connection a client made, so a test can
    tell how many attempts it made before its read timeouts ran out.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._open.append(connection)  # held open, never answered

    def connections(self) -> int:
        """Stop accepting, then count: those accepted and those still
        queued."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.setblocking(False)
        while True:
            try:
                connection, _ = self._listener.accept()
            except BlockingIOError:
                return len(self._open)
            self._open.append(connection)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.connections()
        for connection in self._open:
            connection.close()
        self._listener.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A loopback server that accepts connections and never answers."""
    with SilentServer() as server:
        yield server
