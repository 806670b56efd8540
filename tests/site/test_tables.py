"""Tables read back out of the built site and held to the catalog.

Every table of events, status codes or errors is generated from
``snippets/catalog.py`` by a marker (``<!-- table:errors status=400,409
-->``); these tests read each one out of the HTML and compare every cell with
the catalog, and refuse a hand-typed table of catalog values anywhere.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup, Tag

from snippets import catalog
from tests.support.facts import catalog_values
from tests.support.site import article, raw_markdown, source_pages

# Pages written in docs/: the Reference pages are generated whole, tables
# included, and tests/site/test_reference.py holds them to the catalog.
WRITTEN = source_pages()

MARKER = re.compile(r"^<!-- table:([a-z_]+)(?: status=([0-9,]+))? -->$", re.M)
HEADERS = {
    "events": ["Event", "API value", "Sent when", "resource_type in the delivery"],
    "status_codes": ["Code", "Status", "What it means", "What a receiver typically does"],
    "errors": ["Status", "error_code", "What it means", "What to do", "Retried"],
}  # fmt: skip


def expected_rows(name: str, statuses: str | None = None) -> list[list[str]]:
    """The rows a table must have, straight from the catalog."""
    if name == "events":
        return [
            [
                e.name
                + (f" (also called {e.also_called})" if e.also_called else ""),
                e.value,
                e.trigger,
                e.resource_type,
            ]
            for e in catalog.EVENTS
        ]
    if name == "status_codes":
        return [
            [s.code, s.name, s.meaning, s.receiver_action]
            for s in catalog.TRACKING_STATUSES
        ]
    wanted = {int(s) for s in statuses.split(",")} if statuses else None
    return [
        [str(e.status), e.error_code, e.meaning, e.what_to_do,
         "yes" if e.retried else "no"]
        for e in catalog.ERRORS
        if wanted is None or e.status in wanted
    ]  # fmt: skip


def _cells(row: Tag, tag: str) -> list[str]:
    return [" ".join(cell.get_text().split()) for cell in row.find_all(tag)]


def tables(soup: BeautifulSoup) -> list[tuple[list[str], list[list[str]]]]:
    return [
        (
            _cells(table.select_one("thead tr"), "th") if table.thead else [],
            [_cells(tr, "td") for tr in table.select("tbody tr")],
        )
        for table in article(soup).find_all("table")
    ]


@pytest.mark.parametrize("doc", WRITTEN)
def test_generated_tables_are_the_catalog(site, doc):
    markers = MARKER.findall(raw_markdown(doc))
    generated = [
        (header, rows)
        for header, rows in tables(site.soup(doc))
        if header in HEADERS.values()
    ]

    assert len(generated) == len(markers), f"{doc}: a marker left no table"
    for (name, statuses), (header, rows) in zip(
        markers, generated, strict=True
    ):
        assert header == HEADERS[name], doc
        assert rows == expected_rows(name, statuses or None), f"{doc}: {name}"


@pytest.mark.parametrize("doc", WRITTEN)
def test_no_table_of_catalog_values_is_typed_by_hand(site, doc):
    for header, rows in tables(site.soup(doc)):
        if header in HEADERS.values():
            continue
        for column in zip(*rows, strict=False):
            typed = [cell for cell in column if cell in catalog_values()]
            assert len(typed) < 2, (
                f"{doc}: hand-typed table of {typed}: use a marker"
            )


def test_the_tables_exist():
    names = {
        n for doc in WRITTEN for n, _ in MARKER.findall(raw_markdown(doc))
    }
    assert {"events", "status_codes", "errors"} <= names
