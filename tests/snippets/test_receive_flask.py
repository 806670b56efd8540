"""Tests for snippets/receive_flask.py (page: docs/receive.md).

What both receivers must do is in ``test_receive.py``; this module holds
what is particular to Flask.
"""

import io
import logging
import sys

import pytest

from snippets import receive_flask
from snippets.verify_signatures import KeySet, LocalKeySet


def test_running_the_module_serves_on_port_5000_trusting_the_platform(
    monkeypatch, run_main
):
    calls = []
    monkeypatch.setattr("flask.Flask.run", lambda app, **kw: calls.append(kw))
    monkeypatch.setattr(sys, "argv", ["receive_flask.py"])

    namespace = run_main("snippets.receive_flask")

    assert calls == [{"host": "127.0.0.1", "port": 5000}]
    keys = namespace["app"].config["SIGNING_KEYS"]
    assert isinstance(keys, KeySet)
    assert not isinstance(keys, LocalKeySet)


def test_local_keys_are_trusted_only_when_the_command_line_says_so(
    monkeypatch, run_main, tmp_path, caplog
):
    calls = []
    monkeypatch.setattr("flask.Flask.run", lambda app, **kw: calls.append(kw))
    jwks = tmp_path / "jwks.json"
    argv = ["receive_flask.py", "--local-keys", str(jwks), "--port", "5001"]
    monkeypatch.setattr(sys, "argv", argv)

    namespace = run_main("snippets.receive_flask")

    assert calls == [{"host": "127.0.0.1", "port": 5001}]
    keys = namespace["app"].config["SIGNING_KEYS"]
    assert isinstance(keys, LocalKeySet)
    assert keys.path == jwks
    assert f"trusting the keys in {jwks}: testing only" in caplog.text
    assert not isinstance(
        receive_flask.app.config["SIGNING_KEYS"], LocalKeySet
    )


class InvalidChunkSize(Exception):
    """What gunicorn's reader raises for a chunk size that is not hex."""


class _Reader(io.RawIOBase):
    """A WSGI server's body reader that fails after a few bytes, or ends
    early as gunicorn's does when the client hangs up."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.sent:
            if self.error is not None:
                raise self.error
            return 0  # the end, short of Content-Length
        self.sent = True
        buffer[:3] = b'{"r'
        return 3


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        (None, "a client hung up before sending the whole body"),
        (OSError("no more data"), "a client hung up before sending the whole body"),
        (InvalidChunkSize("zz"), "a body that could not be read: zz"),
    ],
    ids=["ends early", "connection gone", "broken chunk"],
)  # fmt: skip
def test_a_body_the_server_cannot_read_is_a_400_and_one_log_line(
    error, logged, caplog
):
    """Under gunicorn a body cut short ends early or raises the server's own
    error, never Werkzeug's ClientDisconnected."""
    client = receive_flask.app.test_client()

    with caplog.at_level(logging.WARNING, logger="webhooks"):
        response = client.post(
            "/webhooks",
            environ_overrides={
                "wsgi.input": io.BufferedReader(_Reader(error)),
                "wsgi.input_terminated": True,  # as gunicorn says
                "CONTENT_LENGTH": "100",
            },
        )

    assert response.status_code == 400
    assert [r.getMessage() for r in caplog.records] == [logged]
