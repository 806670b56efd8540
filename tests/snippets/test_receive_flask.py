"""Tests for snippets/receive_flask.py (page: docs/receive.md).

What both receivers must do is in ``test_receive.py``; this module holds
what is particular to Flask.
"""

import sys

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
