"""Tests for snippets/receive_flask.py (page: docs/receive.md).

What both receivers must do is in ``test_receive.py``; this module holds
what is particular to Flask.
"""


def test_running_the_module_serves_on_port_5000(monkeypatch, run_main):
    calls = []
    monkeypatch.setattr("flask.Flask.run", lambda app, **kw: calls.append(kw))
    monkeypatch.delenv("PORT", raising=False)

    run_main("snippets.receive_flask")

    assert calls == [{"host": "127.0.0.1", "port": 5000}]
