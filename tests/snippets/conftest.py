"""Fixtures for the receiver tests: each receiver, a signer it trusts, a
fresh inbox, the app served over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from snippets import receive_fastapi, receive_flask
from snippets.verify_signatures import KeySet
from tests.support.receivers import (
    Receiver,
    Signer,
    ThreadServer,
    inbox_dir,
    make_signer,
    thread_server,
)

RECEIVERS = {"flask": receive_flask, "fastapi": receive_fastapi}


@pytest.fixture(scope="session")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    """Signs like the platform, with a key pair made for the session."""
    return make_signer(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module", params=sorted(RECEIVERS))
def receiver(request: pytest.FixtureRequest) -> Receiver:
    """Each receiver in turn: the tests that take it hold for both."""
    return Receiver(request.param, RECEIVERS[request.param])


@pytest.fixture
def inbox_path(
    receiver: Receiver,
    signer: Signer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """The receiver trusts the signer's key and stores into a fresh inbox."""
    jwks = json.loads(signer.jwks_path.read_text())
    with (
        inbox_dir(tmp_path) as directory,
        receiver.trusting(KeySet.from_jwks(jwks)),
    ):
        path = directory / "inbox.sqlite3"
        monkeypatch.setattr(receiver.module, "INBOX_PATH", str(path))
        receiver.module.inbox.cache_clear()
        yield path
        if receiver.module.inbox.cache_info().currsize:
            receiver.module.inbox().close()
        receiver.module.inbox.cache_clear()


@pytest.fixture(scope="module")
def server(receiver: Receiver) -> Iterator[ThreadServer]:
    """The app on 127.0.0.1; each test's ``inbox_path`` decides where it
    stores."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with thread_server(receiver.kind, receiver.module.app) as live:
        yield live
