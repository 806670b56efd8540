"""What both receivers must do, run against each (page: docs/receive.md).

Every test here takes the ``receiver`` fixture (``tests/snippets/
conftest.py``), so it runs once for ``snippets/receive_flask.py`` and once for
``snippets/receive_fastapi.py``. What is particular to one framework is in
``test_receive_flask.py`` and ``test_receive_fastapi.py``; the production
servers are tested in ``test_receive_production.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snippets import catalog, inbox
from snippets.payloads import sample_delivery
from snippets.verify_signatures import KeySet
from tests.support.receivers import (
    BAD_DELIVERIES,
    Bad,
    Receiver,
    Signer,
    ThreadServer,
    check_property,
    documented_answers,
    heads_at_the_limits,
    raw_answer,
    requests_to_send,
    send,
    stored,
)


def test_the_page_documents_an_answer_for_every_case():
    answers = documented_answers()

    assert {bad.case for bad in BAD_DELIVERIES} | {
        "Accepted",
        "Our fault",
    } == set(answers)
    assert len(BAD_DELIVERIES) >= 50


def test_a_genuine_delivery_is_stored_before_the_answer(
    server: ThreadServer, signer: Signer, inbox_path: Path
):
    body = json.dumps(sample_delivery("track")).encode()

    first, _ = send(
        server.url, "POST", "/webhooks", signer.headers(body), body
    )
    stored_then = stored(inbox_path)  # the answer has arrived: on disk
    again, _ = send(
        server.url, "POST", "/webhooks", signer.headers(body), body
    )

    accepted = documented_answers()["Accepted"]
    assert (first, again) == (accepted, accepted)
    assert stored_then == [sample_delivery("track")]
    assert inbox.Inbox(str(inbox_path)).counts() == {"pending": 1}


def test_every_event_is_accepted(
    server: ThreadServer, signer: Signer, inbox_path: Path
):
    for event in catalog.EVENTS:
        body = json.dumps(sample_delivery(event.value), indent=2).encode()
        status, _ = send(
            server.url, "POST", "/webhooks", signer.headers(body), body
        )
        assert status == 204, event.value

    assert stored(inbox_path) == [
        sample_delivery(e.value) for e in catalog.EVENTS
    ]


@pytest.mark.parametrize("bad", BAD_DELIVERIES, ids=lambda bad: bad.label)
def test_a_bad_delivery_gets_its_documented_answer(
    server: ThreadServer, signer: Signer, inbox_path: Path, bad: Bad
):
    method, headers, body = bad.build(signer)

    status, answer = send(server.url, method, bad.path, headers, body)

    assert status == documented_answers()[bad.case]
    assert "location" not in {name.lower() for name in answer}
    assert stored(inbox_path) == []


def test_request_lines_and_headers_are_refused_past_the_limits_only(
    server: ThreadServer, signer: Signer, inbox_path: Path
):
    """The receivers check the limits themselves, before the path and the
    method: the same answers under any server."""
    heads = heads_at_the_limits(signer)

    answers = {head.label: raw_answer(server.url, head.data) for head in heads}

    assert answers == {head.label: str(head.status) for head in heads}
    assert len(stored(inbox_path)) == 3  # the three at the limits


def test_the_inbox_unwritable_is_a_503_and_nothing_is_acknowledged(
    server: ThreadServer,
    signer: Signer,
    inbox_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    missing = inbox_path.parent / "gone" / "inbox.sqlite3"
    monkeypatch.setattr(inbox, "INBOX_PATH", str(missing))
    body = json.dumps(sample_delivery("rate")).encode()

    status, _ = send(
        server.url, "POST", "/webhooks", signer.headers(body), body
    )

    assert status == documented_answers()["Our fault"] == 503
    assert not missing.exists()
    assert "the inbox cannot be written" in caplog.text


def test_a_read_only_inbox_is_a_503(
    server: ThreadServer,
    signer: Signer,
    inbox_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
):
    receiver.module.inbox()  # opened and working
    body = json.dumps(sample_delivery("batch")).encode()

    def refuse(delivery):
        raise inbox.InboxUnavailableError("attempt to write a readonly file")

    monkeypatch.setattr(receiver.module.inbox(), "store", refuse)
    status, _ = send(
        server.url, "POST", "/webhooks", signer.headers(body), body
    )

    assert status == 503
    assert stored(inbox_path) == []


def test_the_key_set_unreachable_is_a_503(
    server: ThreadServer,
    signer: Signer,
    inbox_path: Path,
    receiver: Receiver,
    refused_url: str,
):
    body = json.dumps(sample_delivery("batch")).encode()

    with receiver.trusting(KeySet(refused_url + "/jwks")):
        status, _ = send(
            server.url, "POST", "/webhooks", signer.headers(body), body
        )

    assert status == documented_answers()["Our fault"]
    assert stored(inbox_path) == []


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one inbox for all examples
        HealthCheck.too_slow,
        HealthCheck.differing_executors,
    ],
)
@given(data=st.data())
def test_no_input_gets_a_5xx_or_stores_an_unverified_delivery(
    receiver: Receiver,
    inbox_path: Path,
    signer: Signer,
    genuine: set[str],
    data: st.DataObject,
):
    mode, headers, body = data.draw(requests_to_send(signer))

    check_property(
        receiver.poster(),
        lambda: stored(inbox_path),
        genuine,
        mode,
        headers,
        body,
    )


@pytest.fixture
def genuine() -> set[str]:
    """Bodies signed well by any example so far."""
    return set()
