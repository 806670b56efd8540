"""Fixtures for the receiver and inbox tests: each receiver, a signer it
trusts, a fresh inbox, the app served over HTTP on 127.0.0.1; each kind of
inbox (SQLite, PostgreSQL) for the tests of their shared contract."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from snippets import inbox, receive_fastapi, receive_flask
from snippets.inbox import DeliveryInbox
from snippets.verify_signatures import KeySet
from tests.support.inboxes import KINDS, Clock, InboxUnderTest
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
        monkeypatch.delenv(inbox.INBOX_URL_ENV, raising=False)
        monkeypatch.setattr(inbox, "INBOX_PATH", str(path))  # open_inbox()
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


# ------------------------------------------------------------ the inboxes
@pytest.fixture(params=KINDS)
def any_inbox(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[InboxUnderTest]:
    """A fresh, empty inbox of each kind in turn: the SQLite file, then a
    new database of the test cluster. The tests that take it hold for
    both."""
    with inbox_dir(tmp_path) as directory:
        if request.param == "postgresql":
            cluster = request.getfixturevalue("postgres_cluster")
            location = cluster.fresh_database()
        else:
            location = str(directory / "inbox.sqlite3")
        under_test = InboxUnderTest(request.param, location)
        yield under_test
        under_test.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def box(any_inbox: InboxUnderTest, clock: Clock) -> DeliveryInbox:
    """An open inbox of each kind, on the clock the test moves."""
    return any_inbox.open(clock=clock)
