"""Verify that a delivery comes from the platform: signature, key id and
timestamp.

The platform signs ``"{timestamp}.{raw body}"`` with RSA-SHA256 (PKCS#1 v1.5)
and sends the base64 signature, the id of the signing key and the timestamp
in three headers. Its public keys are published as a JWKS. Call
``verify_delivery`` on the raw body before you parse it.

Run it to check the published test vector: ``python verify_signatures.py``
prints that the vector verifies and that one changed byte is refused.
"""

import base64
import binascii
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from snippets.settings import (
    API_BASE,
    JWKS_PATH,
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMEOUT,
    TIMESTAMP_HEADER,
)


# --8<-- [start:verifier]
log = logging.getLogger("webhooks")


# --8<-- [start:error]
MAX_SKEW = 5 * 60  # seconds a timestamp may be off, either way
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SignatureError(Exception):
    """A delivery to refuse; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


# --8<-- [end:error]


# --8<-- [start:keys]
def _public_keys(jwks: Any) -> dict[str, RSAPublicKey]:
    """The RSA signing keys of a JWKS, by key id (other keys are skipped)."""
    if not isinstance(jwks, dict):
        return {}
    try:
        key_set = jwt.PyJWKSet.from_dict(jwks)
    except jwt.PyJWKSetError:  # no usable key at all
        return {}
    return {
        key.key_id: key.key
        for key in key_set.keys
        if key.key_id
        and key.public_key_use in (None, "sig")
        and isinstance(key.key, RSAPublicKey)
    }


# --8<-- [end:keys]


# --8<-- [start:keyset]
class KeySet:
    """The platform's public keys by key id, from its JWKS, cached."""

    def __init__(
        self, jwks_url: str, min_refresh_interval: float = 60
    ) -> None:
        self.jwks_url = jwks_url
        # Seconds between fetches
        self.min_refresh_interval = min_refresh_interval
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None  # when the JWKS was last fetched
        self._fetch_failed = False
        self._lock = threading.Lock()

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> "KeySet":
        """Fixed keys that are never refetched (local testing)."""
        keys = cls(jwks_url="")
        keys._keys = _public_keys(jwks)
        return keys

    def public_key(self, key_id: str) -> RSAPublicKey:
        """The key called ``key_id``; an unknown id refetches the JWKS once."""
        key = self._keys.get(key_id)
        if key is None and self.jwks_url:
            self._refresh()  # the platform may have rotated its keys
            key = self._keys.get(key_id)
        if key is None:
            raise SignatureError(400, "unknown signing key id")
        return key

    # --8<-- [end:keyset]
    # --8<-- [start:refresh]
    def _refresh(self) -> None:
        with self._lock:  # one fetch at a time, however many requests wait
            now = time.monotonic()
            last = self._fetched_at
            if last is None or now - last >= self.min_refresh_interval:
                self._fetched_at = now  # even if it fails: no fetch storms
                try:
                    self._keys = _public_keys(self._fetch())
                    self._fetch_failed = False
                except (
                    requests.RequestException,
                    ValueError,
                    OSError,
                ) as error:
                    log.warning("could not fetch the signing keys: %s", error)
                    self._fetch_failed = True
            # else: fetched moments ago, so made-up key ids cannot force
            # fetches
            if self._fetch_failed:
                # Our fault, not the sender's: 503 makes the platform retry
                # later.
                raise SignatureError(503, "signing keys unavailable")

    def _fetch(self) -> dict[str, Any]:
        response = requests.get(self.jwks_url, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    # --8<-- [end:refresh]


# --8<-- [start:platform]
def platform_keys() -> KeySet:
    """The keys the platform publishes; nothing is fetched until needed."""
    return KeySet(API_BASE + JWKS_PATH)


class LocalKeySet(KeySet):
    """The local sender's public keys, read from its ``jwks.json``: for
    testing on your machine, handed to a receiver explicitly."""

    def __init__(self, path: Path) -> None:
        # Read when first needed and again for a new key id: the receiver may
        # start before the sender makes its key pair, and a new pair needs no
        # restart.
        super().__init__(path.resolve().as_uri(), min_refresh_interval=0)
        self.path = path

    def _fetch(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())


# --8<-- [end:platform]


# --8<-- [start:headers]
def _header_values(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers by lower-case name, a repeated one joined with commas.

    ASGI servers hand a repeated header over twice, WSGI servers joined with
    commas: this makes both look the same.
    """
    values: dict[str, str] = {}
    for name, value in headers.items():
        name = name.lower()
        values[name] = f"{values[name]},{value}" if name in values else value
    return values


def _check_timestamp(timestamp: str, now: float) -> None:
    """A whole number of seconds, within MAX_SKEW of ``now``, either way."""
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError(400, "malformed timestamp")
    if abs(now - int(timestamp)) > MAX_SKEW:
        raise SignatureError(400, "timestamp too far from now")  # a replay?


# --8<-- [end:headers]


# --8<-- [start:verify]
def verify_delivery(
    headers: Mapping[str, str],
    body: bytes,
    keys: KeySet,
    now: float | None = None,
) -> None:
    """Return if the platform signed ``body`` lately; else SignatureError."""
    named = _header_values(headers)
    key_id = named.get(KEY_ID_HEADER, "")
    signature = named.get(SIGNATURE_HEADER, "")
    timestamp = named.get(TIMESTAMP_HEADER, "")
    if not (key_id and signature and timestamp):
        raise SignatureError(404, "not found")  # tell scanners nothing
    if "," in key_id + signature + timestamp:  # none of them holds a comma
        raise SignatureError(400, "repeated signature header")
    _check_timestamp(timestamp, time.time() if now is None else now)
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(400, "malformed signature") from None
    public_key = keys.public_key(key_id)
    try:  # the public key checks it; no secret of ours is compared here
        public_key.verify(
            raw_signature,
            timestamp.encode() + b"." + body,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise SignatureError(400, "bad signature") from None


# --8<-- [end:verify]
# --8<-- [end:verifier]

# --8<-- [start:vector]
# A known-answer test: this body, signed at this time by this key, must verify.
VECTOR_JWKS = {
    "keys": [
        {
            "kty": "RSA",
            "kid": "test-vector-2026",
            "use": "sig",
            "alg": "RS256",
            "e": "AQAB",
            "n": (
                "zW76GfpcsAAkhBPsP5WPneyAm3-L0yaAuzELkDzcuuSLrI30KnUIqRZSHHCq"
                "z6yeFVCfHQQ9sXIbu0fmbI-ntMZKdT5t006KuvGButl9Zza8ekK50563yhog"
                "IT8Nk-SW6dy_8PSflBbCnoF9Sn7AhQuFe7gb3-_7NExkbJNfkFcSiQhj8oZz"
                "NlHFDj8x_AMrIF8uZncFcDj3vXlnBLm9IDpNLhZkekW_8shoPt0g6WY04-Ez"
                "BWO_vQPvW7yXxao03FrRaB_P7kKZRAfpuVmYLXTw1ZTux80hQC2aVKzSsMNz"
                "5XwLaHOg9PN-IE_6SCz_hX0GQDs6lfhhRJAZuhlFVQ"
            ),
        }
    ]
}
VECTOR_TIMESTAMP = 1795000000  # 2026-11-18 11:06:40 UTC
VECTOR_BODY = (
    b'{"resource_url":"https://api.yourstore.com/v1/batches/se-28529731",'
    b'"resource_type":"API_BATCH"}'
)
VECTOR_SIGNATURE = (
    "pvrZJNFacABBHvtY2JXqHXNhuEI8hkcOYUlIxTRAAMCihx2oqVbl5DvMxVUEdcVKJQSmF+Wr"
    "qZ4O+nI0RGTVazC/a3DjRyGxIHUb42o//g5zfEpGRjs34MA7gzkSfQfPSCR5SJrmG2RvrQ63"
    "o8uXpztreo2lKKGYxM1EvVyt3513cTEHis/3f2kShZFY9EGU+3XwMwfLZoiKiEx3wCy97JKe"
    "7FOALcJ0K1P1F2o+FxZmOwnXMFTXEN98xifEQPiEo7y1WVeYp5gXjC9ggpw2UJ/OeH04UIoG"
    "PctTA7DgDdOgEQqOAs3wPvABTg2shhx6b9+iXzydMTZB7puD75xzkQ=="
)
# --8<-- [end:vector]


# --8<-- [start:main]
def main() -> None:
    """Check the test vector, then one changed byte of it."""
    headers = {
        KEY_ID_HEADER: "test-vector-2026",
        SIGNATURE_HEADER: VECTOR_SIGNATURE,
        TIMESTAMP_HEADER: str(VECTOR_TIMESTAMP),
    }
    keys = KeySet.from_jwks(VECTOR_JWKS)
    verify_delivery(headers, VECTOR_BODY, keys, VECTOR_TIMESTAMP)
    print("The test vector verifies.")
    try:
        verify_delivery(headers, VECTOR_BODY + b" ", keys, VECTOR_TIMESTAMP)
    except SignatureError as error:
        print(f"One changed byte is refused: {error.status} {error.reason}.")


if __name__ == "__main__":
    main()
# --8<-- [end:main]
