"""Send a signed sample delivery of any event to any URL, as the platform would.

Run it: ``python -m snippets.send_test_event track http://127.0.0.1:5000/webhooks``

The first run creates a key pair for local testing in ``.local/webhook-keys/`` (or in
the directory named by ``YOURSTORE_WEBHOOK_KEY_DIR``) and writes its public half as
``jwks.json``; a receiver started with ``YOURSTORE_WEBHOOK_TEST_KEYS`` pointing at that
file accepts what this command sends. Failed attempts are retried with exponential
backoff, like the platform retries a delivery your endpoint did not acknowledge.
"""

# --8<-- [start:imports]
import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt.algorithms import RSAAlgorithm

# --8<-- [end:imports]
from snippets.settings import KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER


# --8<-- [start:keys]
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
    return {"kty": "RSA", "kid": key_id, "use": "sig", "alg": "RS256", **members}


def load_or_create_key_pair(directory: Path) -> tuple[RSAPrivateKey, str]:
    """The local signing key and its id; created on first use, kept in ``directory``.

    ``directory/private-key.pem`` is readable by you alone; ``directory/jwks.json``
    is its public half, the file a receiver is told to trust.
    """
    directory.mkdir(parents=True, exist_ok=True)
    pem_path = directory / "private-key.pem"
    if not pem_path.exists():
        new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = new_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:  # O_EXCL: when two first runs race, one key wins and both use it
            fd = os.open(pem_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as pem_file:
                pem_file.write(pem)
    loaded = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
    if not isinstance(loaded, RSAPrivateKey):
        raise ValueError(f"{pem_path} does not hold an RSA private key")
    jwk = _public_jwk(loaded)
    jwks = {"keys": [jwk]}
    partial = directory / f"jwks.json.{os.getpid()}.tmp"
    partial.write_text(json.dumps(jwks, indent=2) + "\n")
    partial.replace(directory / "jwks.json")  # readers never see half a file
    return loaded, jwk["kid"]


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
