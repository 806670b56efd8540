"""Send a signed sample delivery of any event to your endpoint, as the
platform would.

Run it: ``python send_test_event.py track http://127.0.0.1:5000/webhooks``
sends one event; ``all`` instead of ``track`` sends every event.

The first run makes a key pair for local testing in ``.local/webhook-keys/``
(or in the folder named by ``YOURSTORE_WEBHOOK_KEY_DIR``) and writes its public
half as ``jwks.json``; a receiver started with ``--local-keys`` pointing at
that file accepts what this program sends. A failed attempt is retried on a
shortened schedule: seconds, where the platform waits hours.
"""

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt.algorithms import RSAAlgorithm

from snippets.payloads import RESOURCE_PATHS, sample_delivery
from snippets.settings import KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER


# --8<-- [start:keys]
# --8<-- [start:jwk]
KEY_DIR_ENV = "YOURSTORE_WEBHOOK_KEY_DIR"
DEFAULT_KEY_DIR = Path(".local/webhook-keys")


def _public_jwk(private_key: RSAPrivateKey) -> dict[str, str]:
    """The public half of ``private_key`` as a JWK, with a stable key id."""
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    members = {name: jwk[name] for name in ("e", "kty", "n")}
    # The key id is the key's RFC 7638 thumbprint, shortened.
    canonical = json.dumps(members, separators=(",", ":")).encode()
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest())
    key_id = "local-" + thumbprint.decode()[:16]
    return {
        "kty": "RSA",
        "kid": key_id,
        "use": "sig",
        "alg": "RS256",
        **members,
    }


# --8<-- [end:jwk]


# --8<-- [start:key-pair]
def load_or_create_key_pair(directory: Path) -> tuple[RSAPrivateKey, str]:
    """The local signing key and its id: made on first use, kept in
    ``directory``.

    ``directory/private-key.pem`` is readable by you alone;
    ``directory/jwks.json`` is its public half, the file a receiver is told to
    trust.
    """
    directory.mkdir(parents=True, exist_ok=True)
    pem_path = directory / "private-key.pem"
    if not pem_path.exists():
        new_key = rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )
        pem = new_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, partial_pem = tempfile.mkstemp(dir=directory)  # mode 600: yours
        with os.fdopen(fd, "wb") as pem_file:
            pem_file.write(pem)
        try:  # a link appears whole, and only if no other run got there first
            os.link(partial_pem, pem_path)
        except FileExistsError:
            pass  # that run's key wins; this one is dropped
        finally:
            os.unlink(partial_pem)
    loaded = serialization.load_pem_private_key(pem_path.read_bytes(), None)
    if not isinstance(loaded, RSAPrivateKey):
        raise ValueError(f"{pem_path} does not hold an RSA private key")
    jwk = _public_jwk(loaded)
    jwks = {"keys": [jwk]}
    fd, partial_jwks = tempfile.mkstemp(dir=directory)
    with os.fdopen(fd, "w") as jwks_file:
        jwks_file.write(json.dumps(jwks, indent=2) + "\n")
    # A rename: the file is never seen half-written.
    os.replace(partial_jwks, directory / "jwks.json")
    return loaded, jwk["kid"]


# --8<-- [end:key-pair]
# --8<-- [end:keys]


# --8<-- [start:sign]
def sign_delivery(
    body: bytes, private_key: RSAPrivateKey, key_id: str, timestamp: int
) -> dict[str, str]:
    """The three signature headers for ``body``, sent at ``timestamp``."""
    signature = private_key.sign(
        f"{timestamp}.".encode() + body, padding.PKCS1v15(), hashes.SHA256()
    )
    return {
        KEY_ID_HEADER: key_id,
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: str(timestamp),
    }


# --8<-- [end:sign]


# --8<-- [start:send]
# --8<-- [start:attempt]
DELIVERY_TIMEOUT = (3.05, 10)  # seconds to connect, to wait for the answer
# A shortened schedule, so a local test ends in seconds: the platform makes
# fewer attempts, hours apart (see Delivery semantics).
ATTEMPTS = 5  # the first try and four retries
FIRST_WAIT = 1.0  # seconds before the first retry; doubles after each failure


class DeliveryFailedError(Exception):
    """No attempt got a 2xx answer."""


def attempt(
    url: str, body: bytes, private_key: RSAPrivateKey, key_id: str
) -> tuple[bool, str]:
    """POST ``body`` once, signed now; whether it got a 2xx, and what."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "send-test-event",
        # Signed afresh each time, as the platform does: a retry is new.
        **sign_delivery(body, private_key, key_id, int(time.time())),
    }
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=DELIVERY_TIMEOUT,
            allow_redirects=False,  # a redirect is not an acknowledgement
        )
    except requests.RequestException as error:
        return False, f"no answer ({type(error).__name__})"
    outcome = f"{response.status_code} {response.reason}"
    return 200 <= response.status_code < 300, outcome


# --8<-- [end:attempt]


# --8<-- [start:retries]
def send_event(
    event: str,
    url: str,
    private_key: RSAPrivateKey,
    key_id: str,
    attempts: int = ATTEMPTS,
    first_wait: float = FIRST_WAIT,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """POST a signed sample ``event`` to ``url`` until it answers 2xx."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    body = json.dumps(sample_delivery(event)).encode()  # the same each time
    wait = first_wait
    for number in range(1, attempts + 1):
        acknowledged, outcome = attempt(url, body, private_key, key_id)
        print(f"{event}: attempt {number}: {outcome}")
        if acknowledged:
            return
        if number < attempts:
            print(f"{event}: retrying in {wait:g} s")
            sleep(wait)
            wait *= 2
    raise DeliveryFailedError(
        f"{event}: no 2xx from {url} after {attempts} attempt(s);"
        f" last: {outcome}"
    )


# --8<-- [end:retries]
# --8<-- [end:send]


# --8<-- [start:main]
def main() -> None:
    """Send one sample event, or all of them, to the URL given."""
    events = list(RESOURCE_PATHS)
    parser = argparse.ArgumentParser(
        prog="python send_test_event.py",
        description="Send a signed sample delivery to your endpoint.",
    )
    parser.add_argument("event", choices=[*events, "all"], help="what to send")
    parser.add_argument("url", help="e.g. http://127.0.0.1:5000/webhooks")
    parser.add_argument(
        "--attempts", type=int, default=ATTEMPTS, help="tries at most"
    )
    args = parser.parse_args()
    key_dir = Path(os.environ.get(KEY_DIR_ENV) or DEFAULT_KEY_DIR)
    private_key, key_id = load_or_create_key_pair(key_dir)
    jwks = key_dir / "jwks.json"
    print(f"Signing as {key_id}; a receiver started with --local-keys {jwks}")
    print("accepts what it sends.")
    failed = 0
    for event in events if args.event == "all" else [args.event]:
        try:
            send_event(
                event, args.url, private_key, key_id, attempts=args.attempts
            )
        except DeliveryFailedError as error:
            print(error, file=sys.stderr)
            failed += 1
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
# --8<-- [end:main]
