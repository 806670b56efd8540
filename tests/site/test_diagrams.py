"""Diagrams read back out of the built site and held to the code.

Each ``<!-- diagram:NAME -->`` marker becomes a figure: an SVG drawn by
Graphviz at build time and a caption that says what it shows
(``docs/_hooks/diagrams.py``). The retry timeline follows the delivery rules
and the inbox's states follow the inbox's code, so these tests change the
rules or run the inbox and check that the picture follows.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from docs._hooks import diagrams
from snippets import catalog, inbox
from tests.support.site import (
    article,
    html_path,
    pages,
    parse,
    raw_markdown,
)

# Where the four pictures belong: each idea where it is introduced, and
# again where it helps.
PLACES = {
    "polling-vs-push": {"webhooks-vs-apis.md", "index.md"},
    "delivery-path": {"receive.md", "index.md"},
    "retries": {"delivery-semantics.md"},
    "inbox-states": {"inbox-worker.md"},
}


def _markers(page: str) -> list[str]:
    return [m["name"] for m in diagrams.MARKER.finditer(raw_markdown(page))]


# ------------------------------------------------------------- on the pages
def test_each_diagram_is_on_the_pages_it_belongs_to():
    placed: dict[str, set[str]] = {}
    for page in pages():
        for name in _markers(page):
            placed.setdefault(name, set()).add(page)

    assert placed == PLACES
    assert set(PLACES) == set(diagrams.DIAGRAMS)


@pytest.mark.parametrize(
    "doc", [p for p in pages() if diagrams.MARKER.search(raw_markdown(p))]
)
def test_every_marker_is_a_figure_with_the_generated_svg_and_its_words(
    built_site: Path, doc: str
):
    text = (built_site / html_path(doc)).read_text()
    figures = article(parse(text)).select("figure.diagram")

    assert [f["data-diagram"] for f in figures] == _markers(doc)
    for figure in figures:
        name = figure["data-diagram"]
        svg = figure.find("svg", recursive=False)
        assert diagrams.svg(name) in text, f"{name}: not the generated SVG"
        assert svg["role"] == "img"
        assert svg["aria-label"] == diagrams.diagram(name).title
        assert len(svg.find_all("text")) >= 5, name
        assert not svg.find_all(attrs={"id": True}), "ids would repeat"
        caption = figure.find("figcaption").get_text(" ", strip=True)
        assert caption == diagrams.diagram(name).text
        assert "black" not in str(svg), f"{name}: a colour of one palette"


def test_an_unknown_diagram_stops_the_build():
    with pytest.raises(ValueError, match="no diagram"):
        diagrams.figure("no-such-diagram")


def _labels(svg: str) -> list[str]:
    return [
        t.get_text()
        for t in BeautifulSoup(svg, "html.parser").find_all("text")
    ]


def test_the_drawn_text_says_what_the_code_says():
    polling = " ".join(_labels(diagrams.svg("polling-vs-push")))
    states = _labels(diagrams.svg("inbox-states"))

    assert "every 15 min" in polling  # poll_tracking's default interval
    for state in diagrams.DRAWN_STATES:
        assert states.count(state) == 1, state
    assert f" failed(), attempt {inbox.MAX_ATTEMPTS}" in " ".join(states)


# ------------------------------------------------------------------ retries
def _rules(attempts: int, interval: float, gives_up: float) -> tuple:
    values = {
        "attempts": attempts,
        "retry_interval": interval,
        "gives_up_after": gives_up,
    }
    return tuple(
        dataclasses.replace(rule, value=values.get(rule.name, rule.value))
        for rule in catalog.DELIVERY_RULES
    )


def test_the_timeline_has_the_published_attempts():
    labels = " ".join(_labels(diagrams.svg("retries")))
    attempts = catalog.delivery_rule("attempts").value
    interval = catalog.delivery_rule("retry_interval").value

    for n in range(2, attempts + 1):
        assert f"Attempt {n} at {(n - 1) * interval:g} hours" in labels
    assert f"Attempt {attempts + 1}" not in labels


@contextmanager
def _rules_in_force(rules: tuple) -> Iterator[None]:
    original = catalog.DELIVERY_RULES
    catalog.DELIVERY_RULES = rules
    try:
        yield
    finally:
        catalog.DELIVERY_RULES = original


@settings(max_examples=25, deadline=None)
@given(
    attempts=st.integers(min_value=1, max_value=9),
    interval=st.sampled_from([0.5, 1, 2, 3, 6, 12]),
)
def test_a_changed_retry_schedule_changes_the_timeline(attempts, interval):
    with _rules_in_force(
        _rules(attempts, interval, (attempts - 1) * interval)
    ):
        made = diagrams.retries()

    attempt_nodes = re.findall(r"^\s*attempt(\d+) \[", made.dot, re.M)
    assert [int(n) for n in attempt_nodes] == list(range(1, attempts + 1))
    assert f"up to {attempts} attempts" in made.text
    for n in range(1, attempts):
        assert f"at {diagrams._hours(n * interval)}" in made.dot
    assert made.dot.count('label=" 2xx"') == attempts
    assert made.dot.count("-> dropped") == 1


def test_rules_that_disagree_stop_the_build():
    with (
        _rules_in_force(_rules(3, 2, 5)),
        pytest.raises(ValueError, match="gives_up_after"),
    ):
        diagrams.retries()


# ------------------------------------------------------------- inbox states
def test_the_states_drawn_are_the_states_the_inbox_sql_uses():
    assert set(diagrams.DRAWN_STATES.values()) == diagrams.sql_states()


def test_a_new_state_in_the_inbox_sql_is_found_and_stops_the_build(
    monkeypatch,
):
    source = Path(inbox.__file__).read_text()
    changed = source.replace(
        "THEN 'parked' ELSE 'pending' END",
        "THEN 'parked' WHEN attempts > 2 THEN 'slow' ELSE 'pending' END",
    )
    assert changed != source, "the failed() statement changed: update this"

    found = diagrams.sql_states(changed)
    assert found == {"pending", "done", "parked", "slow"}

    monkeypatch.setattr(diagrams, "sql_states", lambda: found)
    with pytest.raises(ValueError, match="slow"):
        diagrams.inbox_states()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _state(box: inbox.Inbox, key: int) -> str | None:
    """The state of the one delivery in ``box`` (None: it is gone)."""
    counts = box.counts()
    assert sum(counts.values()) <= 1, counts
    return next(iter(counts), None)


def _claimed(box: inbox.Inbox, clock: Clock) -> int:
    box.store({"resource_url": "u", "resource_type": "API_BATCH"})
    claimed = box.claim()
    assert claimed is not None
    return claimed[0]


def _stored(box, clock):
    box.store({"resource_url": "u", "resource_type": "API_BATCH"})
    assert box.counts() == {"pending": 1}
    assert box.claim() is not None  # pending: a worker may take it now


def _claim(box, clock):
    key = _claimed(box, clock)
    assert _state(box, key) == "pending"
    assert box.claim() is None  # claimed: no other worker takes it


def _done(box, clock):
    key = _claimed(box, clock)
    box.done(key)
    assert _state(box, key) == "done"


def _retry(box, clock):
    key = _claimed(box, clock)
    box.failed(key, RuntimeError("down"))
    assert _state(box, key) == "pending"
    assert box.claim() is None  # retry: waiting, not yet due


def _retry_due(box, clock):
    key = _claimed(box, clock)
    box.failed(key, RuntimeError("down"))
    clock.now += diagrams.retry_waits()[0]
    assert box.claim() == (
        key,
        {"resource_url": "u", "resource_type": "API_BATCH"},
    )


def _last_failure(box, clock):
    key = _claimed(box, clock)
    for _ in range(inbox.MAX_ATTEMPTS - 1):
        box.failed(key, RuntimeError("down"))
        clock.now += 3600
        assert box.claim() is not None
    box.failed(key, RuntimeError("down"))
    assert _state(box, key) == "parked"


def _park(box, clock):
    key = _claimed(box, clock)
    box.park(key, "no handler for API_BATCH")
    assert _state(box, key) == "parked"


def _lease(box, clock):
    key = _claimed(box, clock)
    clock.now += inbox.LEASE
    again = box.claim()
    assert again is not None
    assert again[0] == key


def _requeue(box, clock):
    key = _claimed(box, clock)
    box.park(key, "no handler")
    assert box.requeue_parked() == 1
    assert _state(box, key) == "pending"
    assert box.claim() is not None


def _prune(box, clock):
    key = _claimed(box, clock)
    box.done(key)
    clock.now += inbox.KEEP_DONE_DAYS * 86400 + 1
    assert box.prune() == 1
    assert _state(box, key) is None


# What each arrow drawn means, done to a real inbox.
ARROWS = {
    (diagrams.START, "pending", "store"): _stored,
    ("pending", "claimed", "claim"): _claim,
    ("claimed", "done", "done"): _done,
    ("claimed", "retry", "failed"): _retry,
    ("retry", "pending", None): _retry_due,
    ("claimed", "parked", "failed"): _last_failure,
    ("claimed", "parked", "park"): _park,
    ("claimed", "pending", None): _lease,
    ("parked", "pending", "requeue_parked"): _requeue,
    ("done", diagrams.END, "prune"): _prune,
}


def _drawn_arrows() -> list[tuple[str, str, str | None]]:
    transitions = diagrams.inbox_transitions(diagrams.retry_waits())
    return [(t.source, t.target, t.method) for t in transitions]


def test_every_arrow_drawn_is_one_the_inbox_makes():
    assert sorted(ARROWS, key=str) == sorted(_drawn_arrows(), key=str)


@pytest.mark.parametrize("arrow", list(ARROWS), ids=str)
def test_the_inbox_moves_a_delivery_as_the_arrow_says(tmp_path, arrow):
    clock = Clock()
    box = inbox.Inbox(str(tmp_path / "inbox.sqlite3"), clock=clock)
    try:
        ARROWS[arrow](box, clock)
    finally:
        box.close()


def test_the_waits_drawn_are_the_ones_the_inbox_keeps(tmp_path):
    clock = Clock()
    box = inbox.Inbox(str(tmp_path / "inbox.sqlite3"), clock=clock)
    waits = diagrams.retry_waits()
    try:
        key = _claimed(box, clock)
        for wait in waits:
            box.failed(key, RuntimeError("down"))
            clock.now += wait - 0.001
            assert box.claim() is None, "due before the wait drawn"
            clock.now += 0.001
            assert box.claim() is not None, "not due after the wait drawn"
    finally:
        box.close()

    assert len(waits) == inbox.MAX_ATTEMPTS - 1
    labels = " ".join(_labels(diagrams.svg("inbox-states")))
    assert f"{waits[0]:g} s" in labels
