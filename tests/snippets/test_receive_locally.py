"""Tests for snippets/receive_locally.py (page: docs/send-test-event.md)."""

import json
import sys

import pytest

from snippets import receive_fastapi, receive_flask, receive_locally
from snippets.payloads import sample_delivery
from snippets.receive_locally import LocalKeySet
from snippets.send_test_event import load_or_create_key_pair, sign_delivery
from snippets.verify_signatures import SignatureError, verify_delivery

BODY = json.dumps(sample_delivery("batch")).encode()
NOW = 1_800_000_000


def test_the_local_key_set_reads_the_senders_jwks(tmp_path):
    private_key, key_id = load_or_create_key_pair(tmp_path)
    keys = LocalKeySet(tmp_path / "jwks.json")

    verify_delivery(
        sign_delivery(BODY, private_key, key_id, NOW), BODY, keys, NOW
    )

    assert keys.jwks_url == (tmp_path / "jwks.json").as_uri()


def test_a_receiver_may_start_before_the_local_keys_exist(tmp_path):
    keys = LocalKeySet(tmp_path / "keys" / "jwks.json")

    with pytest.raises(SignatureError) as raised:
        keys.public_key("local-anything")
    assert raised.value.status == 503  # the sender retries

    private_key, key_id = load_or_create_key_pair(tmp_path / "keys")
    verify_delivery(
        sign_delivery(BODY, private_key, key_id, NOW), BODY, keys, NOW
    )


def test_a_new_local_key_pair_is_picked_up_without_a_restart(tmp_path):
    keys = LocalKeySet(tmp_path / "jwks.json")
    old_key, old_id = load_or_create_key_pair(tmp_path)
    verify_delivery(sign_delivery(BODY, old_key, old_id, NOW), BODY, keys, NOW)

    (tmp_path / "private-key.pem").unlink()  # the developer starts afresh
    new_key, new_id = load_or_create_key_pair(tmp_path)
    verify_delivery(sign_delivery(BODY, new_key, new_id, NOW), BODY, keys, NOW)

    assert new_id != old_id


@pytest.fixture
def started(monkeypatch):
    """What ``serve`` started: the app, its keys, host and port."""
    calls = []
    monkeypatch.setattr(
        receive_flask.app,
        "run",
        lambda **kw: calls.append(
            (receive_flask.app, receive_flask.app.config["SIGNING_KEYS"], kw)
        ),
    )
    monkeypatch.setattr(
        receive_locally.uvicorn,
        "run",
        lambda app, **kw: calls.append((app, app.state.signing_keys, kw)),
    )
    flask_keys = receive_flask.app.config["SIGNING_KEYS"]
    fastapi_keys = receive_fastapi.app.state.signing_keys
    yield calls
    receive_flask.app.config["SIGNING_KEYS"] = flask_keys
    receive_fastapi.app.state.signing_keys = fastapi_keys


@pytest.mark.parametrize(
    ("framework", "module"),
    [("flask", receive_flask), ("fastapi", receive_fastapi)],
)
def test_serve_hands_the_local_keys_to_the_app_it_starts(
    started, tmp_path, framework, module, caplog
):
    receive_locally.serve(framework, 5001, tmp_path / "jwks.json")

    [(app, keys, options)] = started
    assert app is module.app
    assert isinstance(keys, LocalKeySet)
    assert keys.path == tmp_path / "jwks.json"
    assert options == {"host": "127.0.0.1", "port": 5001}
    assert "trusting the local sender's keys" in caplog.text


def test_the_production_apps_trust_only_the_platforms_keys():
    for keys in (
        receive_flask.app.config["SIGNING_KEYS"],
        receive_fastapi.app.state.signing_keys,
    ):
        assert not isinstance(keys, LocalKeySet)
        assert keys.jwks_url == "https://api.yourstore.com/jwks"


def test_the_command_serves_on_port_5000_with_the_senders_keys(
    started, monkeypatch, tmp_path, run_main
):
    monkeypatch.setenv("YOURSTORE_WEBHOOK_KEY_DIR", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["receive_locally", "fastapi"])

    run_main("snippets.receive_locally")

    [(_, keys, options)] = started
    assert keys.path == tmp_path / "jwks.json"
    assert options["port"] == 5000
