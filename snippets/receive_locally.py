"""Run a receiver on your machine that trusts the local sender's keys.

For testing only: ``python -m snippets.receive_locally flask`` (or
``fastapi``) serves the receiver on http://127.0.0.1:5000/webhooks and accepts
what ``python -m snippets.send_test_event`` signs. The receivers' own modules
never read a key file: this entry point hands its keys to the app it starts,
so nothing in production can be switched to trust them.
"""

# --8<-- [start:imports]
import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

import uvicorn

# --8<-- [end:imports]
from snippets import receive_fastapi, receive_flask
from snippets.send_test_event import DEFAULT_KEY_DIR, KEY_DIR_ENV
from snippets.verify_signatures import KeySet


# --8<-- [start:local]
log = logging.getLogger("webhooks")


class LocalKeySet(KeySet):
    """The local sender's public keys, read from its ``jwks.json``."""

    def __init__(self, path: Path) -> None:
        # Read when first needed and again for a new key id: the receiver may
        # start before the sender makes its key pair, and a new pair needs no
        # restart.
        super().__init__(path.resolve().as_uri(), min_refresh_interval=0)
        self.path = path

    def _fetch(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())


def serve(framework: str, port: int, jwks: Path) -> None:
    """Serve one receiver on 127.0.0.1, trusting the keys in ``jwks``."""
    keys = LocalKeySet(jwks)
    log.warning("trusting the local sender's keys in %s: testing only", jwks)
    if framework == "flask":
        receive_flask.app.config["SIGNING_KEYS"] = keys
        receive_flask.app.run(host="127.0.0.1", port=port)
    else:
        receive_fastapi.app.state.signing_keys = keys
        uvicorn.run(receive_fastapi.app, host="127.0.0.1", port=port)


# --8<-- [end:local]

# --8<-- [start:usage]
if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m snippets.receive_locally",
        description="Serve a receiver that trusts the local sender's keys.",
    )
    parser.add_argument("framework", choices=["flask", "fastapi"])
    parser.add_argument("--port", type=int, default=5000)
    key_dir = Path(os.environ.get(KEY_DIR_ENV) or DEFAULT_KEY_DIR)
    parser.add_argument(
        "--keys",
        type=Path,
        default=key_dir / "jwks.json",
        help="the sender's public keys (default: %(default)s)",
    )
    args = parser.parse_args()
    serve(args.framework, args.port, args.keys)
# --8<-- [end:usage]
