"""Tests for snippets/receive_fastapi.py (page: docs/receive.md).

What both receivers must do is in ``test_receive.py``; this module holds
what is particular to FastAPI.
"""

import sys

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
