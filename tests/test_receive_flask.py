"""Tests for snippets/receive_flask.py (page: docs/receive.md).

The checks both receivers must pass are in ``ReceiverContract``
(tests/receiver_harness.py); tests/test_receive_fastapi.py runs them on
FastAPI.
"""

from collections.abc import Callable

from snippets import receive_flask
from tests.receiver_harness import ReceiverContract


class TestFlaskReceiver(ReceiverContract):
    KIND = "flask"
    MODULE = receive_flask

    def in_process_poster(self) -> Callable[[dict[str, str], bytes], int]:
        client = receive_flask.app.test_client()
        return lambda headers, body: (
            client.post("/webhooks", data=body, headers=headers).status_code
        )


def test_running_the_module_serves_on_port_5000(monkeypatch, run_main):
    calls = []
    monkeypatch.setattr("flask.Flask.run", lambda app, **kw: calls.append(kw))
    monkeypatch.delenv("PORT", raising=False)

    run_main("snippets.receive_flask")

    assert calls == [{"host": "127.0.0.1", "port": 5000}]
