"""Tests for snippets/status_codes.py (page: docs/status-codes.md)."""

import io
import json
import re

import pytest

from snippets import catalog, payloads
from snippets.status_codes import MESSAGES, customer_message
from tests.support.paths import ROOT


def _track(**changes):
    delivery = payloads.sample_delivery("track")
    delivery["data"].update(changes)
    return delivery


def test_every_code_with_a_message_is_a_real_status_code():
    assert set(MESSAGES) <= catalog.STATUS_CODES


def test_codes_without_a_message_are_the_ones_that_tell_the_customer_nothing():
    assert catalog.STATUS_CODES - set(MESSAGES) == {"NY", "UN"}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"status_code": "DE"},
            "Your package 9405511899223197428490 was delivered.",
        ),
        (
            {"status_code": "AC"},
            "The carrier has your package 9405511899223197428490; it is on its way.",
        ),
        (
            {"status_code": "IT"},
            "Your package 9405511899223197428490 is in transit, expected 2026-11-27.",
        ),
        (
            {"status_code": "IT", "estimated_delivery_date": None},
            "Your package 9405511899223197428490 is in transit.",
        ),
        (
            {"status_code": "AT"},
            "The carrier tried to deliver 9405511899223197428490 and will try again, "
            "expected 2026-11-27.",
        ),
        (
            {
                "status_code": "EX",
                "exception_description": "Address not found",
            },
            "There is a problem with 9405511899223197428490: Address not found. "
            "We are on it.",
        ),
        (
            {"status_code": "EX"},
            "There is a problem with 9405511899223197428490: the carrier reported an "
            "issue. We are on it.",
        ),
        (
            {"status_code": "SP"},
            "Your package 9405511899223197428490 is waiting at AUSTIN, 78756 for you "
            "to collect.",
        ),
        (
            {"status_code": "SP", "events": []},
            "Your package 9405511899223197428490 is waiting at a collection point for "
            "you to collect.",
        ),
        ({"status_code": "NY"}, None),
        ({"status_code": "UN"}, None),
    ],
)
def test_customer_message(changes, expected):
    assert customer_message(_track(**changes)) == expected


@pytest.mark.parametrize("event", sorted(catalog.EVENT_VALUES - {"track"}))
def test_other_events_produce_no_message(event):
    assert customer_message(payloads.sample_delivery(event)) is None


def test_the_page_quotes_what_the_function_returns_for_its_example():
    page = (ROOT / "docs" / "status-codes.md").read_text()
    quoted = re.search(
        r"`customer_message` returns\s+\*\"(.+?)\"\*", page, re.DOTALL
    )
    assert quoted, "the page no longer quotes the example message"
    assert quoted.group(1) == customer_message(
        payloads.sample_delivery("track")
    )


# ----------------------------------------------- the download, as a reader
def test_the_download_prints_the_message_for_a_saved_delivery(reader):
    reader.download("status_codes.py")
    delivery = json.dumps(payloads.sample_delivery("track"))

    answer = reader.run("status_codes.py", stdin=delivery)
    nothing = reader.run(
        "status_codes.py", stdin=json.dumps(payloads.sample_delivery("rate"))
    )
    junk = reader.run("status_codes.py", stdin="not json")

    expected = customer_message(payloads.sample_delivery("track"))
    assert answer.stdout == f"{expected}\n", answer.stderr
    assert nothing.stdout == "No message for this delivery.\n"
    assert junk.returncode == 1
    assert junk.stderr.startswith("Expected a delivery in JSON")
    assert junk.stderr.count("\n") == 1


# ------------------------------------------ the module's main, in-process
@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (json.dumps(payloads.sample_delivery("track")), "message"),
        (json.dumps(payloads.sample_delivery("rate")), "none"),
    ],
)
def test_running_the_module_prints_the_message(
    monkeypatch, capsys, run_main, stdin, expected
):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))

    run_main("snippets.status_codes")

    out = capsys.readouterr().out
    if expected == "message":
        track = payloads.sample_delivery("track")
        assert out == f"{customer_message(track)}\n"
    else:
        assert out == "No message for this delivery.\n"


@pytest.mark.parametrize(
    "stdin",
    [
        "not json",
        "[]",
        '{"resource_type": "API_TRACK"}',
        '{"resource_type": "API_TRACK", "data": 1}',
    ],
)
def test_running_the_module_on_junk_is_one_line(monkeypatch, run_main, stdin):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))

    with pytest.raises(SystemExit) as exited:
        run_main("snippets.status_codes")

    assert str(exited.value.code).startswith("Expected a delivery in JSON")
    assert "\n" not in str(exited.value.code)
