"""Tests for snippets/send_test_event.py (page: docs/send-test-event.md)."""

import json
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from snippets import send_test_event as sender
from snippets import settings
from snippets.send_test_event import load_or_create_key_pair, sign_delivery
from snippets.verify_signatures import KeySet, verify_delivery

BODY = b'{"resource_url":"https://api.yourstore.com/v1/rates/se-1","resource_type":"API_RATE"}'


# --------------------------------------------------------------------- keys
def test_the_first_run_creates_a_private_key_and_its_jwks(tmp_path):
    directory = tmp_path / "keys"

    private_key, key_id = load_or_create_key_pair(directory)

    pem = directory / "private-key.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    jwks = json.loads((directory / "jwks.json").read_text())
    [jwk] = jwks["keys"]
    assert (jwk["kid"], jwk["kty"], jwk["use"], jwk["alg"]) == (
        key_id,
        "RSA",
        "sig",
        "RS256",
    )
    assert "d" not in jwk  # the public half only
    assert key_id.startswith("local-")
    published = KeySet.from_jwks(jwks).public_key(key_id)
    assert published.public_numbers() == private_key.public_key().public_numbers()
    assert private_key.key_size == 2048


def test_later_runs_reuse_the_key(tmp_path):
    first_key, first_id = load_or_create_key_pair(tmp_path)
    jwks_before = (tmp_path / "jwks.json").read_text()

    second_key, second_id = load_or_create_key_pair(tmp_path)

    assert second_id == first_id
    assert second_key.private_numbers() == first_key.private_numbers()
    assert (tmp_path / "jwks.json").read_text() == jwks_before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "jwks.json",
        "private-key.pem",
    ]


def test_a_missing_jwks_is_written_again_from_the_key(tmp_path):
    _, key_id = load_or_create_key_pair(tmp_path)
    (tmp_path / "jwks.json").unlink()

    assert load_or_create_key_pair(tmp_path)[1] == key_id
    assert json.loads((tmp_path / "jwks.json").read_text())["keys"][0]["kid"] == key_id


def test_two_first_runs_racing_end_up_with_one_key(tmp_path, monkeypatch):
    """The loser of the race sees the winner's file and uses it."""
    real_open = os.open
    winner = {}

    def open_after_the_other_run(path, flags, mode=0o777):
        if str(path).endswith("private-key.pem") and not winner:
            # Another run writes its key between our check and our open.
            monkeypatch.setattr(sender.os, "open", real_open)
            winner["key"], winner["id"] = load_or_create_key_pair(tmp_path)
        return real_open(path, flags, mode)

    monkeypatch.setattr(sender.os, "open", open_after_the_other_run)

    _, key_id = load_or_create_key_pair(tmp_path)

    assert key_id == winner["id"]


def test_a_key_file_that_is_not_rsa_is_refused(tmp_path):
    not_rsa = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "private-key.pem").write_bytes(
        not_rsa.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(ValueError, match="does not hold an RSA private key"):
        load_or_create_key_pair(tmp_path)


# --------------------------------------------------------------------- sign
def test_sign_delivery_gives_the_three_headers(tmp_path):
    private_key, key_id = load_or_create_key_pair(tmp_path)

    headers = sign_delivery(BODY, private_key, key_id, 1_800_000_000)

    assert set(headers) == {
        settings.KEY_ID_HEADER,
        settings.SIGNATURE_HEADER,
        settings.TIMESTAMP_HEADER,
    }
    assert headers[settings.KEY_ID_HEADER] == key_id
    assert headers[settings.TIMESTAMP_HEADER] == "1800000000"
    keys = KeySet.from_jwks(json.loads((tmp_path / "jwks.json").read_text()))
    verify_delivery(headers, BODY, keys, now=1_800_000_000)
