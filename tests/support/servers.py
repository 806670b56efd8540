"""The fake API served over real HTTP on 127.0.0.1, for tests that need urllib3
to run.

requests-mock swaps the transport adapter out, so the ``Retry`` the client
session mounts never sees a response. These fixtures put
:meth:`FakeApi.wsgi_app` behind a real socket on a thread instead, point the
snippets at it, and replace urllib3's ``time.sleep`` with a recorder that moves
the fake's clock, so a test can assert how long the session would have waited
without waiting at all.

The fixtures that use them (``live_api``, ``sleeps``, ``silent_server``) are in
``tests/conftest.py``.
"""

from __future__ import annotations

import functools
import socket
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

# How often a serving thread looks for a shutdown request: shutdown() waits up
# to one such interval (0.5 s by default), and the suite stops hundreds of
# servers.
POLL = 0.01


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
            target=self._server.serve_forever, kwargs={"poll_interval": POLL}
        )
        self._thread.daemon = True

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


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


class AppServer:
    """A web app (WSGI, such as Flask, or ASGI, such as FastAPI) served on
    127.0.0.1 on a free port, on a daemon thread."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        if hasattr(app, "wsgi_app"):
            from werkzeug.serving import make_server

            self._wsgi = make_server(
                "127.0.0.1", 0, app, threaded=True, fd=self._socket.fileno()
            )
            self._stop = self._wsgi.shutdown
            target: Any = functools.partial(
                self._wsgi.serve_forever, poll_interval=POLL
            )
        else:
            import asyncio

            import uvicorn

            config = uvicorn.Config(app, log_level="warning", lifespan="off")
            server = uvicorn.Server(config)

            def stop() -> None:
                server.should_exit = True

            def serve() -> None:
                asyncio.run(server.serve(sockets=[self._socket]))

            self._stop = stop
            target = serve
        self._thread = threading.Thread(target=target, daemon=True)

    def __enter__(self) -> AppServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        self._thread.join(timeout=10)
        self._socket.close()
