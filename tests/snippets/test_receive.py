"""What both receivers must do, run against each (page: docs/receive.md).

``snippets/receive_flask.py`` and ``snippets/receive_fastapi.py`` pass the
same checks; what is particular to one framework is in
``test_receive_flask.py`` and ``test_receive_fastapi.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snippets import catalog, inbox, receive_fastapi, receive_flask
from snippets.payloads import sample_delivery
from snippets.verify_signatures import TEST_KEYS_ENV
from tests.support.receivers import (
    BAD_DELIVERIES,
    Bad,
    ChildReceiver,
    Signer,
    Tally,
    ThreadServer,
    check_property,
    documented_answers,
    inbox_dir,
    make_signer,
    requests_to_send,
    send_load,
    signed_load,
    stored,
    thread_server,
    workers,
)


class ReceiverContract:
    """What both receivers must do. A test module subclasses it as ``Test...``
    and
    sets KIND ("flask" or "fastapi") and MODULE (the receiver's module)."""

    KIND: str
    MODULE: Any

    @pytest.fixture(scope="class")
    @classmethod
    def signer(cls, tmp_path_factory: pytest.TempPathFactory) -> Signer:
        return make_signer(tmp_path_factory.mktemp("keys"))

    @pytest.fixture
    def inbox_path(
        self, tmp_path: Path, signer: Signer, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[Path]:
        """The receiver trusts the local test key and stores into a fresh
        inbox."""
        with inbox_dir(tmp_path) as directory:
            path = directory / "inbox.sqlite3"
            monkeypatch.setenv(TEST_KEYS_ENV, str(signer.jwks_path))
            monkeypatch.setattr(self.MODULE, "INBOX_PATH", str(path))
            self.MODULE.signing_keys.cache_clear()
            self.MODULE.inbox.cache_clear()
            yield path
            if self.MODULE.inbox.cache_info().currsize:
                self.MODULE.inbox().close()
            self.MODULE.signing_keys.cache_clear()
            self.MODULE.inbox.cache_clear()

    @pytest.fixture(scope="class")
    @classmethod
    def server(cls) -> Iterator[ThreadServer]:
        """The app on 127.0.0.1; each test's ``inbox_path`` decides where it
        stores."""
        logging.getLogger("werkzeug").setLevel(
            logging.WARNING
        )  # one line a request
        with thread_server(cls.KIND, cls.MODULE.app) as live:
            yield live

    def test_the_page_documents_an_answer_for_every_case(self) -> None:
        answers = documented_answers()

        assert {bad.case for bad in BAD_DELIVERIES} | {"Accepted"} == set(
            answers
        )
        assert len(BAD_DELIVERIES) >= 20

    def test_a_genuine_delivery_is_stored_before_the_answer(
        self, server: ThreadServer, signer: Signer, inbox_path: Path
    ) -> None:
        body = json.dumps(sample_delivery("track")).encode()

        first = requests.post(
            server.url, data=body, headers=signer.headers(body), timeout=10
        )
        stored_then = stored(
            inbox_path
        )  # the answer has arrived: it is on disk
        again = requests.post(
            server.url, data=body, headers=signer.headers(body), timeout=10
        )

        accepted = documented_answers()["Accepted"]
        assert (first.status_code, again.status_code) == (accepted, accepted)
        assert first.content == b""
        assert stored_then == [sample_delivery("track")]
        assert inbox.Inbox(str(inbox_path)).counts() == {"pending": 1}

    def test_every_event_is_accepted(
        self, server: ThreadServer, signer: Signer, inbox_path: Path
    ) -> None:
        for event in catalog.EVENTS:
            body = json.dumps(sample_delivery(event.value), indent=2).encode()
            response = requests.post(
                server.url, data=body, headers=signer.headers(body), timeout=10
            )
            assert response.status_code == 204, (event.value, response.text)

        assert stored(inbox_path) == [
            sample_delivery(e.value) for e in catalog.EVENTS
        ]

    @pytest.mark.parametrize("bad", BAD_DELIVERIES, ids=lambda bad: bad.label)
    def test_a_bad_delivery_gets_its_documented_answer(
        self, server: ThreadServer, signer: Signer, inbox_path: Path, bad: Bad
    ) -> None:
        method, headers, body = bad.build(signer)

        response = requests.request(
            method, server.url, data=body, headers=headers, timeout=10
        )

        assert response.status_code == documented_answers()[bad.case]
        assert stored(inbox_path) == []

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one inbox for all examples
            HealthCheck.too_slow,
            HealthCheck.differing_executors,  # one test, two receiver classes
        ],
    )
    @given(data=st.data())
    def test_no_input_gets_a_5xx_or_stores_an_unverified_delivery(
        self,
        inbox_path: Path,
        signer: Signer,
        in_process: Callable[[dict[str, str], bytes], int],
        data: st.DataObject,
    ) -> None:
        genuine = self.genuine  # bodies signed well by any example so far
        mode, headers, body = data.draw(requests_to_send(signer))

        check_property(
            in_process,
            lambda: stored(inbox_path),
            genuine,
            mode,
            headers,
            body,
        )

    @pytest.fixture
    def in_process(self) -> Callable[[dict[str, str], bytes], int]:
        """POST to the app through the framework's test client (no socket)."""
        self.genuine: set[str] = set()
        return self.in_process_poster()

    def in_process_poster(self) -> Callable[[dict[str, str], bytes], int]:
        raise NotImplementedError

    @pytest.mark.load
    def test_1000_deliveries_at_once_some_twice_are_each_processed_once(
        self, signer: Signer, tmp_path: Path
    ) -> None:
        load = signed_load(signer)
        tally = Tally()
        with inbox_dir(tmp_path) as directory:
            path = directory / "inbox.sqlite3"
            child = ChildReceiver(self.KIND, self.child_env(signer, path))
            child.start()  # its own process, as in production: its own GIL
            try:
                with workers(path, tally):  # two, draining while it arrives
                    result = send_load(child.url, load)
            finally:
                errors = child.stop()

            assert result.statuses == {204: len(load.requests)}, errors
            assert len(load.requests) == 1200
            tally.expect_each_once(load.bodies)
            assert inbox.Inbox(str(path)).counts() == {"done": 1000}

    @staticmethod
    def child_env(signer: Signer, path: Path) -> dict[str, str]:
        return {
            TEST_KEYS_ENV: str(signer.jwks_path),
            "YOURSTORE_INBOX_PATH": str(path),
        }

    @pytest.mark.load
    def test_a_receiver_killed_mid_load_loses_nothing(
        self, signer: Signer, tmp_path: Path
    ) -> None:
        load = signed_load(signer)
        with inbox_dir(tmp_path) as directory:
            path = directory / "inbox.sqlite3"
            child = ChildReceiver(
                self.KIND,
                {
                    TEST_KEYS_ENV: str(signer.jwks_path),
                    "YOURSTORE_INBOX_PATH": str(path),
                },
            )
            child.start()
            kills = []

            def kill_at_400(answered: int) -> None:
                if answered == 400 and not kills:
                    kills.append(answered)
                    # SIGKILL: no cleanup, requests in flight cut off
                    child.kill()
                    child.start()  # the same socket and the same SQLite file

            tally = Tally()
            try:
                with workers(path, tally):
                    result = send_load(child.url, load, on_answer=kill_at_400)
            finally:
                errors = child.stop()

            assert kills == [400]
            assert child.starts == 2
            assert set(result.statuses) == {204}, (result.statuses, errors)
            tally.expect_each_once(load.bodies)
            assert inbox.Inbox(str(path)).counts() == {"done": 1000}


class TestFlaskReceiver(ReceiverContract):
    KIND = "flask"
    MODULE = receive_flask

    def in_process_poster(self) -> Callable[[dict[str, str], bytes], int]:
        client = receive_flask.app.test_client()
        return lambda headers, body: (
            client.post("/webhooks", data=body, headers=headers).status_code
        )


class TestFastApiReceiver(ReceiverContract):
    KIND = "fastapi"
    MODULE = receive_fastapi

    def in_process_poster(self) -> Callable[[dict[str, str], bytes], int]:
        client = TestClient(receive_fastapi.app)
        return lambda headers, body: (
            client.post("/webhooks", content=body, headers=headers).status_code
        )
