"""Tests for snippets/verify_signatures.py (page:
docs/verify-signatures.md)."""

import base64
import gzip
import json
import threading
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from snippets import settings
from snippets import verify_signatures as vs
from snippets.send_test_event import load_or_create_key_pair, sign_delivery
from snippets.verify_signatures import (
    KeySet,
    SignatureError,
    platform_keys,
    verify_delivery,
)
from tests.support.paths import DATA

VECTOR_KEY = DATA / "test_vector_private_key.pem"
NOW = 1_800_000_000
BODY = b'{"resource_url":"https://api.yourstore.com/v1/rates/se-1","resource_type":"API_RATE"}'
JWKS_URL = settings.API_BASE + settings.JWKS_PATH


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory):
    directory = tmp_path_factory.mktemp("keys")
    private_key, key_id = load_or_create_key_pair(directory)
    jwks = json.loads((directory / "jwks.json").read_text())
    return private_key, key_id, jwks


@pytest.fixture(scope="module")
def other_key_pair(tmp_path_factory):
    directory = tmp_path_factory.mktemp("other-keys")
    private_key, key_id = load_or_create_key_pair(directory)
    return (
        private_key,
        key_id,
        json.loads((directory / "jwks.json").read_text()),
    )


def _refusal(headers, body=BODY, keys=None, now=NOW) -> SignatureError:
    with pytest.raises(SignatureError) as raised:
        verify_delivery(headers, body, keys, now=now)
    return raised.value


# ------------------------------------------------------------- the test vector
def _vector_headers() -> dict[str, str]:
    return {
        settings.KEY_ID_HEADER: "test-vector-2026",
        settings.SIGNATURE_HEADER: vs.VECTOR_SIGNATURE,
        settings.TIMESTAMP_HEADER: str(vs.VECTOR_TIMESTAMP),
    }


def test_the_published_vector_verifies():
    keys = KeySet.from_jwks(vs.VECTOR_JWKS)

    verify_delivery(
        _vector_headers(), vs.VECTOR_BODY, keys, now=vs.VECTOR_TIMESTAMP
    )


def test_signing_the_vector_body_with_its_private_key_gives_the_published_signature():
    private_key = serialization.load_pem_private_key(
        VECTOR_KEY.read_bytes(), password=None
    )

    headers = sign_delivery(
        vs.VECTOR_BODY, private_key, "test-vector-2026", vs.VECTOR_TIMESTAMP
    )

    assert headers == _vector_headers()
    public = private_key.public_key().public_numbers()
    published = KeySet.from_jwks(vs.VECTOR_JWKS).public_key("test-vector-2026")
    assert published.public_numbers() == public


def test_the_vector_body_is_the_sample_batch_delivery():
    from snippets.payloads import sample_delivery

    assert json.loads(vs.VECTOR_BODY) == sample_delivery("batch")


def test_running_the_module_checks_the_vector(run_main, capsys):
    run_main("snippets.verify_signatures")

    assert capsys.readouterr().out.splitlines() == [
        "The test vector verifies.",
        "One changed byte is refused: 400 bad signature.",
    ]


def test_the_download_checks_the_vector_on_its_own(reader):
    reader.download("verify_signatures.py")

    answer = reader.run("verify_signatures.py")

    assert answer.stdout.splitlines() == [
        "The test vector verifies.",
        "One changed byte is refused: 400 bad signature.",
    ], answer.stderr


# ---------------------------------------------------------- verify_delivery
def test_a_fresh_signed_delivery_verifies(key_pair):
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW)

    verify_delivery(headers, BODY, KeySet.from_jwks(jwks), now=NOW)


def test_header_names_are_matched_whatever_their_case(key_pair):
    private_key, key_id, jwks = key_pair
    headers = {
        name.title(): value
        for name, value in sign_delivery(
            BODY, private_key, key_id, NOW
        ).items()
    }

    verify_delivery(headers, BODY, KeySet.from_jwks(jwks), now=NOW)


def test_the_clock_defaults_to_now(key_pair):
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, int(time.time()))

    verify_delivery(headers, BODY, KeySet.from_jwks(jwks))
    stale = sign_delivery(BODY, private_key, key_id, int(time.time()) - 3600)
    assert _refusal(stale, keys=KeySet.from_jwks(jwks), now=None).status == 400


@pytest.mark.parametrize(
    "missing",
    [
        (settings.KEY_ID_HEADER,),
        (settings.SIGNATURE_HEADER,),
        (settings.TIMESTAMP_HEADER,),
        (
            settings.KEY_ID_HEADER,
            settings.SIGNATURE_HEADER,
            settings.TIMESTAMP_HEADER,
        ),
    ],
)
def test_missing_signature_headers_are_a_404(key_pair, missing):
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW)
    for name in missing:
        del headers[name]

    error = _refusal(headers, keys=KeySet.from_jwks(jwks))

    assert error.status == 404


def test_an_empty_signature_header_is_a_404(key_pair):
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW)
    headers[settings.SIGNATURE_HEADER] = ""

    assert _refusal(headers, keys=KeySet.from_jwks(jwks)).status == 404


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_within_five_minutes_either_way_are_accepted(
    key_pair, offset
):
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW + offset)

    verify_delivery(headers, BODY, KeySet.from_jwks(jwks), now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_timestamps_more_than_five_minutes_off_are_a_400(key_pair, offset):
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW + offset)

    error = _refusal(headers, keys=KeySet.from_jwks(jwks))

    assert (error.status, error.reason) == (400, "timestamp too far from now")


@pytest.mark.parametrize(
    "timestamp",
    ["abc", "-5", "1.5e9", " 1800000000", "1_800_000_000", "9" * 13],
)
def test_a_malformed_timestamp_is_a_400(key_pair, timestamp):
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW)
    headers[settings.TIMESTAMP_HEADER] = timestamp

    error = _refusal(headers, keys=KeySet.from_jwks(jwks))

    assert (error.status, error.reason) == (400, "malformed timestamp")


@pytest.mark.parametrize("signature", ["not base64!", "YWJj=ZGVm", "é"])
def test_a_signature_that_is_not_base64_is_a_400(key_pair, signature):
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW)
    headers[settings.SIGNATURE_HEADER] = signature

    error = _refusal(headers, keys=KeySet.from_jwks(jwks))

    assert (error.status, error.reason) == (400, "malformed signature")


def test_an_unknown_key_id_is_a_400(key_pair):
    private_key, _, jwks = key_pair
    headers = sign_delivery(BODY, private_key, "someone-elses-key", NOW)

    error = _refusal(headers, keys=KeySet.from_jwks(jwks))

    assert (error.status, error.reason) == (400, "unknown signing key id")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b"se-1", b"se-2")), id="body"),
        pytest.param(lambda h, b: (h, b + b"\n"), id="trailing-newline"),
        pytest.param(
            lambda h, b: ({**h, settings.TIMESTAMP_HEADER: str(NOW + 1)}, b),
            id="timestamp",
        ),
        pytest.param(
            lambda h, b: (
                {
                    **h,
                    settings.SIGNATURE_HEADER: base64.b64encode(
                        bytes(
                            len(base64.b64decode(h[settings.SIGNATURE_HEADER]))
                        )
                    ).decode(),
                },
                b,
            ),
            id="zeroed-signature",
        ),
        pytest.param(
            lambda h, b: ({**h, settings.SIGNATURE_HEADER: "c2lnbmF0dXJl"}, b),
            id="short-signature",
        ),
    ],
)
def test_anything_changed_after_signing_is_a_400(key_pair, tamper):
    private_key, key_id, jwks = key_pair
    headers, body = tamper(sign_delivery(BODY, private_key, key_id, NOW), BODY)

    error = _refusal(headers, body=body, keys=KeySet.from_jwks(jwks))

    assert (error.status, error.reason) == (400, "bad signature")


def test_a_signature_by_another_key_under_a_known_key_id_is_a_400(
    key_pair, other_key_pair
):
    _, key_id, jwks = key_pair
    impostor = other_key_pair[0]
    headers = sign_delivery(BODY, impostor, key_id, NOW)

    error = _refusal(headers, keys=KeySet.from_jwks(jwks))

    assert (error.status, error.reason) == (400, "bad signature")


def test_the_signed_text_is_timestamp_dot_raw_body(key_pair):
    """A hand-made signature over the documented string verifies."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    private_key, key_id, jwks = key_pair
    raw = private_key.sign(
        f"{NOW}.".encode() + BODY, padding.PKCS1v15(), hashes.SHA256()
    )
    headers = {
        settings.KEY_ID_HEADER: key_id,
        settings.SIGNATURE_HEADER: base64.b64encode(raw).decode(),
        settings.TIMESTAMP_HEADER: str(NOW),
    }

    verify_delivery(headers, BODY, KeySet.from_jwks(jwks), now=NOW)


# ------------------------------------------------------------------- KeySet
def test_only_rsa_signing_keys_with_an_id_are_kept(key_pair):
    _, key_id, jwks = key_pair
    rsa_key = jwks["keys"][0]
    ec_key = ECAlgorithm.to_jwk(
        ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True
    )
    mixed = {
        "keys": [
            rsa_key,
            {**rsa_key, "kid": "for-encryption", "use": "enc"},
            {k: v for k, v in rsa_key.items() if k != "kid"},
            {**ec_key, "kid": "an-ec-key"},
            {"kty": "oct", "kid": "a-secret", "k": "c2VjcmV0"},
        ]
    }

    keys = KeySet.from_jwks(mixed)

    assert keys.public_key(key_id).public_numbers() == (
        KeySet.from_jwks(jwks).public_key(key_id).public_numbers()
    )
    for other in ("for-encryption", "an-ec-key", "a-secret"):
        with pytest.raises(SignatureError):
            keys.public_key(other)


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": []},
        {"keys": [{"kty": "nope"}]},
        {"keys": ["not-a-key", None]},
        {"keys": "not-a-list"},
        {},
        [],
        "a string",
    ],
)
def test_a_jwks_without_usable_keys_trusts_nothing(jwks):
    with pytest.raises(SignatureError) as raised:
        KeySet.from_jwks(jwks).public_key("any")

    assert raised.value.status == 400


def _jwks_fetches(fake_api) -> int:
    return sum(call.path == settings.JWKS_PATH for call in fake_api.calls)


def test_the_jwks_is_fetched_once_and_cached(fake_api, key_pair):
    private_key, key_id, jwks = key_pair
    fake_api.jwks = jwks
    keys = KeySet(JWKS_URL)

    for _ in range(3):
        headers = sign_delivery(BODY, private_key, key_id, NOW)
        verify_delivery(headers, BODY, keys, now=NOW)

    assert _jwks_fetches(fake_api) == 1
    assert "API-Key" not in fake_api.calls[0].headers  # the JWKS is public


def test_a_rotated_key_is_found_by_one_refresh(
    fake_api, key_pair, other_key_pair, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(vs.time, "monotonic", lambda: clock[0])
    _, old_id, old_jwks = key_pair
    new_key, new_id, new_jwks = other_key_pair
    fake_api.jwks = old_jwks
    keys = KeySet(JWKS_URL)
    keys.public_key(old_id)

    clock[0] += 61  # the platform rotates; the next delivery uses the new key
    fake_api.jwks = new_jwks
    headers = sign_delivery(BODY, new_key, new_id, NOW)
    verify_delivery(headers, BODY, keys, now=NOW)

    assert _jwks_fetches(fake_api) == 2


def test_an_unknown_key_id_refreshes_once_then_fails(
    fake_api, key_pair, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(vs.time, "monotonic", lambda: clock[0])
    _, key_id, jwks = key_pair
    fake_api.jwks = jwks
    keys = KeySet(JWKS_URL)
    keys.public_key(key_id)
    clock[0] += 61

    with pytest.raises(SignatureError) as raised:
        keys.public_key("made-up")

    assert raised.value.status == 400
    assert _jwks_fetches(fake_api) == 2


def test_made_up_key_ids_cannot_force_a_fetch_per_request(
    fake_api, key_pair, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(vs.time, "monotonic", lambda: clock[0])
    _, key_id, jwks = key_pair
    fake_api.jwks = jwks
    keys = KeySet(JWKS_URL, min_refresh_interval=60)
    keys.public_key(key_id)

    for n in range(50):
        clock[0] += 1
        with pytest.raises(SignatureError):
            keys.public_key(f"made-up-{n}")

    assert _jwks_fetches(fake_api) == 1  # the 60 s have not passed
    clock[0] += 60
    with pytest.raises(SignatureError):
        keys.public_key("made-up-again")
    assert _jwks_fetches(fake_api) == 2


def test_concurrent_requests_for_a_new_key_share_one_fetch(fake_api, key_pair):
    _, key_id, jwks = key_pair
    fake_api.jwks = jwks
    keys = KeySet(JWKS_URL)
    found, barrier = [], threading.Barrier(8)

    def look_up():
        barrier.wait()
        found.append(keys.public_key(key_id))

    threads = [threading.Thread(target=look_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(found) == 8
    assert _jwks_fetches(fake_api) == 1


@pytest.mark.parametrize("failure", ["503", "not-json", "timeout"])
def test_an_unreachable_jwks_is_a_503_so_the_platform_retries(
    fake_api, key_pair, failure, caplog, monkeypatch
):
    import requests

    clock = [1000.0]
    monkeypatch.setattr(vs.time, "monotonic", lambda: clock[0])
    _, key_id, jwks = key_pair
    fake_api.jwks = jwks
    if failure == "503":
        fake_api.fail_next(503)
    elif failure == "not-json":
        fake_api.mocker.get(JWKS_URL, text="<html>maintenance</html>")
    else:
        fake_api.mocker.get(JWKS_URL, exc=requests.exceptions.ConnectTimeout)
    keys = KeySet(JWKS_URL)

    with pytest.raises(SignatureError) as raised:
        keys.public_key(key_id)

    assert (raised.value.status, raised.value.reason) == (
        503,
        "signing keys unavailable",
    )
    assert "could not fetch the signing keys" in caplog.text
    fetches = _jwks_fetches(fake_api)
    # Deliveries in the next minute get 503 at once, without hammering the
    # JWKS.
    clock[0] += 30
    with pytest.raises(SignatureError) as again:
        keys.public_key(key_id)
    assert again.value.status == 503
    assert _jwks_fetches(fake_api) == fetches
    if (
        failure == "503"
    ):  # a minute later the next delivery fetches, and succeeds
        clock[0] += 30
        assert keys.public_key(key_id)
        assert _jwks_fetches(fake_api) == fetches + 1


# ------------------------------------------------------------ platform_keys
def test_platform_keys_are_the_platforms_jwks(fake_api, key_pair):
    private_key, key_id, jwks = key_pair
    fake_api.jwks = jwks

    keys = platform_keys()
    assert _jwks_fetches(fake_api) == 0  # nothing fetched until needed
    verify_delivery(
        sign_delivery(BODY, private_key, key_id, NOW), BODY, keys, NOW
    )

    assert keys.jwks_url == "https://api.yourstore.com/jwks"
    assert _jwks_fetches(fake_api) == 1


def test_no_setting_makes_the_verifier_trust_a_local_key_file(
    fake_api, tmp_path, key_pair, monkeypatch
):
    """The old switch, YOURSTORE_WEBHOOK_TEST_KEYS, is gone: set or not,
    a key the platform does not publish is refused."""
    monkeypatch.setenv("YOURSTORE_WEBHOOK_TEST_KEYS", str(tmp_path / "j"))
    fake_api.jwks = key_pair[2]
    local_key, local_id = load_or_create_key_pair(tmp_path)
    headers = sign_delivery(BODY, local_key, local_id, NOW)

    error = _refusal(headers, keys=platform_keys())

    assert (error.status, error.reason) == (400, "unknown signing key id")
    assert not hasattr(vs, "TEST_KEYS_ENV")
    assert not hasattr(vs, "trusted_keys")
    assert "environ" not in Path(vs.__file__).read_text()


@pytest.mark.parametrize(
    "name",
    [
        settings.KEY_ID_HEADER,
        settings.SIGNATURE_HEADER,
        settings.TIMESTAMP_HEADER,
    ],
)
@pytest.mark.parametrize("joined", [False, True])
def test_a_signature_header_sent_twice_is_a_400(key_pair, name, joined):
    """Twice as two headers (ASGI), or joined by a comma (WSGI)."""
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW)
    if joined:
        headers[name] = f"{headers[name]},{headers[name]}"
        pairs = headers
    else:
        pairs = _Pairs([*headers.items(), (name.upper(), headers[name])])

    error = _refusal(pairs, keys=KeySet.from_jwks(jwks))

    assert (error.status, error.reason) == (400, "repeated signature header")


class _Pairs(list):
    """Headers as ASGI servers give them: a repeated one appears twice."""

    def items(self):
        return list(self)


def test_a_signature_error_carries_status_and_reason():
    error = SignatureError(404, "not found")

    assert (error.status, error.reason, str(error)) == (
        404,
        "not found",
        "404: not found",
    )
    assert isinstance(error, Exception)


# --------------------------------------------------------------------- page
def _answer_table(built_site) -> dict[str, int]:
    soup = BeautifulSoup(
        (built_site / "verify-signatures" / "index.html").read_text(),
        "html.parser",
    )
    for table in soup.select("article table"):
        header = [th.get_text(strip=True) for th in table.select("thead th")]
        if header[:2] == ["A delivery with", "Answer"]:
            rows = [
                [td.get_text(" ", strip=True) for td in tr.select("td")]
                for tr in table.select("tbody tr")
            ]
            return {reason: int(status) for _, status, reason in rows}
    raise AssertionError("the page lost its table of answers")


def test_the_pages_table_of_answers_is_what_the_code_answers(
    built_site, fake_api, key_pair
):
    private_key, key_id, jwks = key_pair
    keys = KeySet.from_jwks(jwks)
    signed = sign_delivery(BODY, private_key, key_id, NOW)
    fake_api.jwks = jwks
    fake_api.fail_next(503)
    cases = [
        ({}, BODY, keys),
        ({**signed, settings.KEY_ID_HEADER: "a,b"}, BODY, keys),
        ({**signed, settings.TIMESTAMP_HEADER: "soon"}, BODY, keys),
        (sign_delivery(BODY, private_key, key_id, NOW - 301), BODY, keys),
        ({**signed, settings.SIGNATURE_HEADER: "!"}, BODY, keys),
        ({**signed, settings.KEY_ID_HEADER: "nobody"}, BODY, keys),
        (signed, BODY + b" ", keys),
        (signed, BODY, KeySet(JWKS_URL)),
    ]
    answered = {}
    for headers, body, key_set in cases:
        error = _refusal(headers, body=body, keys=key_set)
        answered[error.reason] = error.status

    assert answered == _answer_table(built_site)


def test_a_local_key_set_reads_the_sender_s_jwks_when_first_needed(tmp_path):
    keys = vs.LocalKeySet(tmp_path / "jwks.json")  # no key pair yet
    private_key, key_id = load_or_create_key_pair(tmp_path)
    body = b'{"resource_type": "API_BATCH"}'
    now = int(time.time())

    verify_delivery(sign_delivery(body, private_key, key_id, now), body, keys)

    assert keys.public_key(key_id) is not None


# ------------------------------- symptoms of docs/troubleshooting.md, reproduced
@pytest.mark.parametrize(
    "rewrite",
    [
        pytest.param(lambda b: json.dumps(json.loads(b)).encode(), id="dumps"),
        pytest.param(
            lambda b: json.dumps(json.loads(b), indent=2).encode(),
            id="pretty-printed",
        ),
        pytest.param(
            lambda b: json.dumps(json.loads(b), sort_keys=True).encode(),
            id="keys-sorted",
        ),
        pytest.param(gzip.compress, id="compressed-by-a-proxy"),
    ],
)
def test_every_signature_fails_on_a_body_parsed_and_written_again(
    key_pair, rewrite
):
    """Every signature fails: the body was parsed and re-serialised (by a
    framework or a proxy) before it was verified."""
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW)
    rewritten = rewrite(BODY)
    assert rewritten != BODY
    if rewritten.startswith(b"\x1f\x8b"):  # gzip's magic number
        assert gzip.decompress(rewritten) == BODY
    else:
        assert json.loads(rewritten) == json.loads(BODY)  # the same JSON

    error = _refusal(headers, body=rewritten, keys=KeySet.from_jwks(jwks))

    assert (error.status, error.reason) == (400, "bad signature")
    verify_delivery(headers, BODY, KeySet.from_jwks(jwks), now=NOW)  # raw: ok


@pytest.mark.parametrize("skew", [-6 * 60, 6 * 60])
def test_a_skewed_clock_fails_every_genuine_delivery(key_pair, skew):
    """400 timestamp too far from now: the receiver's clock is off."""
    private_key, key_id, jwks = key_pair
    headers = sign_delivery(BODY, private_key, key_id, NOW)

    error = _refusal(headers, keys=KeySet.from_jwks(jwks), now=NOW + skew)

    assert (error.status, error.reason) == (400, "timestamp too far from now")
