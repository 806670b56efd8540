"""Tests for snippets/receive_fastapi.py (page: docs/receive.md).

What both receivers must do is in ``test_receive.py``; this module holds
what is particular to FastAPI.
"""

import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from snippets import inbox, receive_fastapi
from snippets.verify_signatures import LocalKeySet


def test_a_body_without_a_length_is_still_cut_off_at_1_mib(
    monkeypatch, tmp_path
):
    """A chunked body declares no Content-Length; the stream is counted
    instead."""
    monkeypatch.setattr(inbox, "INBOX_PATH", str(tmp_path / "inbox.sqlite3"))

    def chunks():
        for _ in range(17):
            yield b"x" * 65536  # 1 MiB and one more chunk

    response = TestClient(receive_fastapi.app).post(
        "/webhooks", content=chunks()
    )

    assert response.status_code == 413
    assert not (tmp_path / "inbox.sqlite3").exists()


def test_the_app_publishes_no_description_of_itself():
    client = TestClient(receive_fastapi.app)

    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert client.get(path).status_code == 404, path
    assert receive_fastapi.app.openapi_url is None


def test_running_the_module_serves_on_port_5000_trusting_the_platform(
    monkeypatch, run_main
):
    calls = []
    monkeypatch.setattr(
        "uvicorn.run", lambda app, **kw: calls.append((app, kw))
    )
    monkeypatch.setattr(sys, "argv", ["receive_fastapi.py"])

    namespace = run_main("snippets.receive_fastapi")

    assert calls == [(namespace["app"], {"host": "127.0.0.1", "port": 5000})]
    assert not isinstance(namespace["app"].state.signing_keys, LocalKeySet)


def test_local_keys_are_trusted_only_when_the_command_line_says_so(
    monkeypatch, run_main, tmp_path, caplog
):
    calls = []
    monkeypatch.setattr(
        "uvicorn.run", lambda app, **kw: calls.append((app, kw))
    )
    jwks = tmp_path / "jwks.json"
    monkeypatch.setattr(
        sys, "argv", ["receive_fastapi.py", "--local-keys", str(jwks)]
    )

    namespace = run_main("snippets.receive_fastapi")

    keys = namespace["app"].state.signing_keys
    assert isinstance(keys, LocalKeySet)
    assert keys.path == jwks
    assert f"trusting the keys in {jwks}: testing only" in caplog.text


def test_a_client_that_hangs_up_mid_body_is_a_400_and_one_log_line(caplog):
    """The server tells the app the client is gone (``http.disconnect``)
    before the body is complete."""
    messages = [
        {"type": "http.request", "body": b'{"resource', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks",
        "raw_path": b"/webhooks",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 5000),
    }
    # In a thread of its own: a browser test may have left an event loop
    # running in this worker's main thread.
    with (
        caplog.at_level(logging.WARNING, logger="webhooks"),
        ThreadPoolExecutor(1) as pool,
    ):
        pool.submit(
            asyncio.run, receive_fastapi.app(scope, receive, send)
        ).result()

    assert sent[0]["status"] == 400
    assert [r.getMessage() for r in caplog.records] == [
        "a client hung up before sending the whole body"
    ]
