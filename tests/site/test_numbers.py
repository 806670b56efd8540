"""Numbers in prose cannot drift from the code.

Every number with a unit a page states (a timeout, a limit, a schedule, a
size) is a placeholder filled from the constant the code runs with
(``docs/_hooks/numbers.py``, ``docs/_hooks/settings_hook.py``), or stands on
the short list below with the reason it may be written out. The values the
placeholders publish are pinned here as literals, like the platform's values
in ``tests/snippets/test_contract.py``: a constant changed in the code
changes the pages, and this test says so.
"""

from __future__ import annotations

import re

import pytest

from docs._hooks.settings_hook import VALUES
from tests.support.site import raw_markdown, source_pages

WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    "fifteen|twenty|thirty|sixty|hundred|thousand"
)
# Units of measure: time, size, counts of tries, depth, rates. Plain counts
# of things ("two workers", "one request") are language, not settings.
UNITS = (
    r"ms|s|seconds?|minutes?|hours?|days?|weeks?|MiB|KiB|KB|MB|GB|bytes?|"
    r"attempts?|retries|tries|times|levels?|%|percent|"
    r"requests? an? (?:minute|second|hour)|calls a day"
)
NUMBER_WITH_UNIT = re.compile(
    rf"(?<![\w.{{])(?:\d[\d,.]*[ -]?|(?:{WORDS})[ -])(?:{UNITS})\b",
    re.IGNORECASE,
)
# Numbers a page may write out, and why.
ALLOWED = {
    ("index.md", "200 parcels"): "an illustration of polling, not a limit",
    ("index.md", "15 minutes"): "the same illustration",
    ("index.md", "19,200 calls"): "the same illustration, worked out",
    ("webhooks-vs-apis.md", "15-minute"): (
        "poll_tracking's default, which "
        "tests/snippets/test_webhooks_vs_apis.py reads from the page"
    ),
    ("webhooks-vs-apis.md", "229 calls"): "measured; the same test reads it",
    ("webhooks-vs-apis.md", "223 of"): "measured; the same test reads it",
    (
        "receive-production.md",
        "5 seconds",
    ): "what the command shown above it says",
    (
        "quickstart.md",
        "five minutes",
    ): "how long the page takes, not a setting",
}


def _prose(markdown: str) -> str:
    """The page without code, inline code, comments, links' targets and
    placeholders: what is left is written out."""
    text = re.sub(
        r"^( *)(`{3,}|~{3,}).*?^\1\2\s*$", "", markdown, flags=re.S | re.M
    )
    text = re.sub(r"`[^`\n]*`", "", text)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"\{\{[^}]*\}\}", "", text)


def numbers_in_prose(page: str) -> list[str]:
    return [
        m[0] for m in NUMBER_WITH_UNIT.finditer(_prose(raw_markdown(page)))
    ]


@pytest.mark.parametrize("doc", source_pages())
def test_numbers_in_prose_come_from_the_code(doc):
    typed = [
        number
        for number in numbers_in_prose(doc)
        if not any(
            page == doc and allowed.split()[0] in number
            for page, allowed in ALLOWED
        )
    ]

    assert not typed, f"{doc}: use a placeholder for {typed}"


def test_a_typed_number_is_found():
    text = (
        "The lease is five minutes; bodies over 1 MiB get 413 after 3 tries."
    )

    found = [m[0] for m in NUMBER_WITH_UNIT.finditer(_prose(text))]

    assert found == ["five minutes", "1 MiB", "3 tries"]


def test_placeholders_and_code_are_not_prose():
    text = "Wait `60 s` or {{ lease }} minutes.\n\n```\nsleep 5 seconds\n```\n"

    assert NUMBER_WITH_UNIT.findall(_prose(text)) == []


PUBLISHED = {
    "rate_limit": "200",
    "client_retries": "5",
    "client_attempts": "6",
    "client_backoff": "1, 2, 4 and 8 seconds",
    "connect_timeout": "3.05 seconds",
    "read_timeout": "15 seconds",
    "max_body": "1 MiB",
    "max_skew_minutes": "5",
    "max_nesting": "32",
    "inbox_lease_minutes": "5",
    "inbox_max_attempts": "8",
    "inbox_keep_days": "7",
    "inbox_pool_size": "4",
    "inbox_wait": "5 seconds",
    "delivery_answer_timeout": "not published",
    "delivery_attempts": "3",
    "delivery_retry_hours": "2",
    "delivery_gives_up_hours": "4",
    "sender_attempts": "5",
    "sender_waits": "1, 2, 4 and 8",
    "endpoint_max_body": "1 MiB",
    "inbox_first_wait": "10 seconds",
    "inbox_max_wait": "1 hour",
    "event_count": "7",
    "max_request_line": "4094",
    "max_header_lines": "50",
    "max_header_line": "8190",
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_the_numbers_the_pages_publish(name):
    assert VALUES[name] == PUBLISHED[name]


NAMES = {  # placeholders for names and addresses (test_contract pins them)
    "product", "product_slug", "api_base", "api_host", "api_key_env",
    "webhooks_path", "tracking_path", "jwks_path", "key_id_header",
    "signature_header", "timestamp_header", "delivery_rules_source",
}  # fmt: skip


def test_every_number_placeholder_is_pinned():
    assert set(VALUES) - NAMES == set(PUBLISHED)
