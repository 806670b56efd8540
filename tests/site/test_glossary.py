"""The glossary: every term defined once, and each page linking the first
use of each term to its definition, once."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup, NavigableString, Tag

from docs._hooks import glossary
from tests.support.site import BuiltSite, article, pages

# Read independently of the build's own walk: what a reader reads as prose.
NOT_PROSE = "a, code, pre, kbd, h1, h2, h3, h4, h5, h6, th, figcaption, svg"


def _prose(soup: BeautifulSoup) -> list[NavigableString]:
    body = article(soup)
    # By identity: a bs4 Tag hashes by serialising itself, which is slow.
    skipped = {id(tag) for tag in body.select(NOT_PROSE)}
    skipped |= {
        id(tag) for tag in body.select(".admonition-title, .md-annotation")
    }
    return [
        text
        for text in body.find_all(string=True)
        if text.strip() and not any(id(p) in skipped for p in text.parents)
    ]


def _links(soup: BeautifulSoup) -> list[Tag]:
    return article(soup).select("a.glossary-term")


def test_the_glossary_defines_every_term_once(site: BuiltSite):
    soup = site.soup(glossary.PAGE)
    terms = [dt.get_text(strip=True) for dt in article(soup).select("dt")]
    assert terms == sorted(t.name for t in glossary.TERMS)
    assert len({dt["id"] for dt in article(soup).select("dt")}) == len(terms)


@pytest.mark.parametrize("page", [p for p in pages() if p != glossary.PAGE])
def test_a_page_links_the_first_use_of_each_term(site: BuiltSite, page):
    soup = site.soup(page)
    links = _links(soup)
    targets = [a["href"].rsplit("#", 1)[1] for a in links]
    assert len(targets) == len(set(targets)), f"a term linked twice: {targets}"
    glossary_ids = {dt["id"] for dt in site.soup(glossary.PAGE).select("dt")}
    assert set(targets) <= glossary_ids
    by_anchor = {term.anchor: term for term in glossary.TERMS}
    prose = _prose(soup)
    for link in links:
        term = by_anchor[link["href"].rsplit("#", 1)[1]]
        assert term.pattern.fullmatch(link.get_text()), link
    for term in glossary.TERMS:
        if term.page == page:
            assert term.anchor not in targets, f"{term.name} on its own page"
            continue
        # The first use in prose (links unwrapped to find it) is the link.
        uses = [
            (text, m)
            for text in prose
            for m in [term.pattern.search(text)]
            if m
        ]
        linked = [a for a in links if a["href"].endswith("#" + term.anchor)]
        if not linked:
            assert not uses, f"{term.name} used but not linked: {uses[0][0]!r}"
            continue
        first = linked[0]
        if uses:
            text, _ = uses[0]
            assert _before(first, text), (
                f"{term.name} is used before its link: {text!r}"
            )


def _before(link: Tag, text: NavigableString) -> bool:
    """Whether ``link`` comes before ``text`` in the document."""
    return any(element is text for element in link.next_elements)


def test_a_longer_term_claims_its_words_first():
    html = "<article><p>A thin event is an event.</p></article>"
    linked = glossary.link_first_uses(html, "receive.md")
    soup = BeautifulSoup(linked, "html.parser")
    assert [a.get_text() for a in soup.select("a")] == ["thin event", "event"]
    assert soup.select("a")[0]["href"] == "../glossary/#thin-event"


def test_terms_in_code_and_headings_are_not_linked():
    html = (
        "<article><h2>Events</h2><p><code>event</code> and "
        "<a href='x'>event</a></p><p>One event.</p></article>"
    )
    soup = BeautifulSoup(
        glossary.link_first_uses(html, "index.md"), "html.parser"
    )
    links = soup.select("a.glossary-term")
    assert len(links) == 1
    assert links[0].parent.get_text() == "One event."
    assert links[0]["href"] == "glossary/#event"


def test_the_link_leads_up_from_a_nested_page():
    html = "<p>A webhook.</p>"
    linked = glossary.link_first_uses(html, "reference/events.md")
    assert 'href="../../glossary/#webhook"' in linked
    assert (
        re.search(
            r"glossary/#webhook",
            glossary.link_first_uses(html, "reference/index.md"),
        ).string.count("../")
        == 1
    )
