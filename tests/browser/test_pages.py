"""The site as a reader meets it: the built site in headless Chromium.

Every check walks the pages the sitemap lists, so a new page is covered without
editing this file. Nothing a page loads may leave 127.0.0.1.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from mkdocs.config import load_config
from playwright.sync_api import Browser, Page, Request

from tests.support import browser as browser_support
from tests.support.browser import (
    PALETTES,
    Site,
    Watch,
    open_context,
    scheme,
    sitemap_paths,
    visit,
)
from tests.support.paths import ROOT
from tests.support.site import parse

pytestmark = pytest.mark.browser

TAB_SET = ".tabbed-set"
SELECTED_TABS = """() => [...document.querySelectorAll('.tabbed-set')].map(set => {
    const inputs = [...set.children].filter(e => e.tagName === 'INPUT');
    const labels = [...set.querySelectorAll(':scope > .tabbed-labels > label')];
    const i = inputs.findIndex(e => e.checked);
    return i < 0 ? null : labels[i].innerText.trim();
})"""
TAB_LABELS = """() => [...document.querySelectorAll('.tabbed-set')].map(set =>
    [...set.querySelectorAll(':scope > .tabbed-labels > label')]
        .map(l => l.innerText.trim()).sort().join('|'))"""


@pytest.fixture
def reader(browser: Browser) -> Iterator[tuple[Page, Watch]]:
    """A fresh light-palette tab, whose requests leaving 127.0.0.1 are
    blocked."""
    context, watch = open_context(browser, "light")
    page = context.new_page()
    yield page, watch
    context.close()
    assert watch.offsite == [], f"requests left 127.0.0.1: {watch.offsite}"


OFFSITE = "http://example.com/pixel.gif"
# A file asked for from elsewhere: by the page, and by a worker it starts.
ASK_ELSEWHERE = """url => {
    const img = document.createElement('img');
    img.src = url + '?page';
    document.body.append(img);
    const code = `fetch('${url}?worker').catch(() => {})`;
    new Worker(URL.createObjectURL(new Blob([code])));
}"""


def test_a_request_that_would_leave_the_machine_fails_and_is_recorded(
    browser: Browser, site: Site
) -> None:
    """What every check above relies on: nothing reaches beyond 127.0.0.1,
    and each attempt is on record."""
    context, watch = open_context(browser, "light")
    page = context.new_page()
    visit(page, site.pages[0], wake=False)
    failed: dict[str, str | None] = {}  # url: why

    def on_failed(request: Request) -> None:
        failed[request.url] = request.failure

    context.on("requestfailed", on_failed)
    page.evaluate(ASK_ELSEWHERE, OFFSITE)
    wanted = [f"{OFFSITE}?page", f"{OFFSITE}?worker"]
    deadline = time.monotonic() + 10
    while sorted(failed) != wanted and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    context.close()
    # Refused by the browser's own proxy rule, not by the lack of a network.
    assert failed == dict.fromkeys(wanted, "net::ERR_PROXY_CONNECTION_FAILED")
    assert sorted(watch.offsite) == wanted


def test_the_site_is_published_at_its_site_url(
    reader: tuple[Page, Watch], site: Site
) -> None:
    """The sitemap and each page's canonical link use the configured
    site_url."""
    config = load_config(str(ROOT / "mkdocs.yml"))
    assert config["site_url"].startswith("https://")
    site_url, paths = sitemap_paths(site.root)
    assert site_url == config["site_url"]
    page, _ = reader
    for url, path in zip(
        site.pages, sorted(paths, key=lambda p: (p != "", p)), strict=True
    ):
        canonical = _soup(page, url).select_one("link[rel=canonical]")["href"]
        assert canonical == site_url + path


def test_an_unknown_address_gets_a_useful_404_page(
    reader: tuple[Page, Watch], site: Site
) -> None:
    page, watch = reader
    assert visit(page, site.url("no-such-page/"), settle=True) == 404
    # The document's own 404 is the only error: the theme's CSS and JS all load
    # from the site's path, even though the page is served at an unknown
    # address.
    assert len(watch.errors) <= 1, watch.errors
    header = page.eval_on_selector(
        ".md-header", "h => getComputedStyle(h).position"
    )
    assert header == "sticky"
    assert page.locator("article h1").inner_text() == "Page not found"
    assert page.locator(".md-search__input").count() == 1
    listed = page.eval_on_selector_all(
        "article a", "links => links.map(a => a.href)"
    )
    assert set(site.pages) <= set(listed)
    report = page.locator("article a", has_text="report it").get_attribute(
        "href"
    )
    assert report.startswith("https://github.com/")
    assert "/issues/new" in report
    # A page it lists opens: wait for that navigation itself, not for the
    # load state, which the 404 page already has.
    link = page.locator("article li a").last
    address = link.evaluate("a => a.href")
    with page.expect_navigation(url=address):
        link.click()
    assert page.locator("article h1").count() == 1
    assert page.locator("article h1").inner_text() != "Page not found"


def test_the_navigation_reaches_every_page(
    reader: tuple[Page, Watch], site: Site
) -> None:
    page, _ = reader
    page.set_viewport_size(
        {"width": 1280, "height": 900}
    )  # the sidebar is visible
    visit(page, site.pages[0])
    assert page.locator(".md-nav--primary a.md-nav__link[href]").count() > 5
    # navigation.prune renders the open section's pages only: a reader
    # reaches the rest through each section's link, page by page.
    reached, queue = {site.pages[0]}, [site.pages[0]]
    while queue:
        here = queue.pop()
        soup = _soup(page, here)
        assert soup is not None, here
        for link in soup.select(".md-nav--primary a.md-nav__link[href]"):
            target = urldefrag(urljoin(here, link["href"])).url
            if target in site.pages and target not in reached:
                reached.add(target)
                queue.append(target)
    assert set(site.pages) <= reached
    # Following the "Next" footer link from the home page walks the whole
    # guide.
    walked = [site.pages[0]]
    while next_link := _soup(page, walked[-1]).select_one(
        "a.md-footer__link--next"
    ):
        target = urljoin(walked[-1], next_link["href"])
        assert target not in walked, f"the footer links loop back to {target}"
        walked.append(target)
    assert set(walked) == set(site.pages)


def _soup(page: Page, url: str) -> BeautifulSoup | None:
    """The HTML served at ``url``, parsed (None if it is not served); each
    page's text is parsed once per worker (``site.parse``), as several tests
    read every page. Callers only read the tree."""
    response = page.request.get(url)
    return parse(response.text()) if response.ok else None


def _anchors(soup: BeautifulSoup) -> set[str]:
    return {t["id"] for t in soup.select("[id]")} | {
        t["name"] for t in soup.select("a[name]")
    }


def test_internal_links_resolve(
    reader: tuple[Page, Watch], site: Site
) -> None:
    page, _ = reader
    broken, anchors = [], {}
    for url in site.pages:
        for link in _soup(page, url).select("a[href]"):
            target, fragment = urldefrag(urljoin(url, link["href"]))
            if urlsplit(target).hostname != "127.0.0.1":
                continue
            if target not in anchors:
                soup = _soup(page, target)
                anchors[target] = None if soup is None else _anchors(soup)
            if anchors[target] is None:
                broken.append(f"{site.name(url)} -> {link['href']}: not found")
            elif fragment and fragment not in anchors[target]:
                broken.append(
                    f"{site.name(url)} -> {link['href']}: no such anchor"
                )
    assert len(anchors) > 1, "no internal links found"
    assert broken == []


def _pages_with_linked_tabs(page: Page, site: Site) -> list[tuple[str, int]]:
    """Pages with Python/curl tab groups, and how many groups each has."""
    found = []
    for url in site.pages:
        groups = [
            tab_set
            for tab_set in _soup(page, url).select(TAB_SET)
            if sorted(
                label.get_text(strip=True)
                for label in tab_set.select(":scope > .tabbed-labels > label")
            )
            == ["Python", "curl"]
        ]
        if groups:
            found.append((url, len(groups)))
    return found


def _python_curl_choices(page: Page) -> list[str]:
    labels = page.evaluate(TAB_LABELS)
    chosen = page.evaluate(SELECTED_TABS)
    return [
        c
        for c, labels in zip(chosen, labels, strict=True)
        if labels == "Python|curl"
    ]


def _choices_once_settled(page: Page, language: str) -> set[str]:
    """The languages the page's Python/curl groups show, once they all show
    ``language`` or after five seconds: the theme links the groups, and
    restores the reader's choice on another page, in its own handlers, which
    may run a moment after the click or the page's start."""
    deadline = time.monotonic() + 5
    while True:
        shown = set(_python_curl_choices(page))
        if shown == {language} or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(50)


def test_choosing_a_language_switches_every_tab_group(
    reader: tuple[Page, Watch], site: Site
) -> None:
    page, watch = reader
    found = _pages_with_linked_tabs(page, site)
    several = [url for url, count in found if count > 1]
    assert several, "no page has two Python/curl tab groups to link"
    first = several[0]
    others = [url for url, _ in found if url != first]
    assert others, "only one page has Python/curl tabs"

    visit(page, first)
    assert set(_python_curl_choices(page)) == {"Python"}  # the default
    for language in ("curl", "Python", "curl"):
        groups = page.locator(TAB_SET).filter(
            has=page.locator("label", has_text="curl")
        )
        groups.last.locator(
            ".tabbed-labels > label", has_text=language
        ).click()
        assert _choices_once_settled(page, language) == {language}

    # The choice is remembered on the next page the reader opens.
    visit(page, others[0])
    assert _choices_once_settled(page, "curl") == {"curl"}
    assert watch.errors == []


def test_a_page_offers_its_program_for_download(
    reader: tuple[Page, Watch], site: Site
) -> None:
    page, _ = reader
    visit(page, site.url("create-webhook/"))
    link = page.locator("a[download='create_webhook.py']")
    shown = page.locator(".admonition.example", has=link).inner_text()
    served = page.request.get(urljoin(page.url, link.get_attribute("href")))

    assert served.ok
    assert served.headers["content-type"].startswith("text/")
    assert (
        served.body()
        == (site.root / "downloads" / "create_webhook.py").read_bytes()
    )
    assert f"({len(served.body()) / 1024:.1f} KB, read it)" in shown
    assert 'python -m pip install "requests' in shown


# The term a reader types; the page it must find (a path, or a pattern its
# title or address matches); and how high that page must rank. Search matches
# prefixes as the reader types, so a two-letter code such as "DE" also finds
# "delete" and "deliveries" on every page: for it, being among the results
# shown is enough.
SEARCHES = {
    "409": (re.compile(r"create-webhook|troubleshooting"), 3),
    "ngrok": ("endpoint/", 3),
    "API_TRACK": (re.compile(r"payloads|events|status-codes"), 3),
    "x-yourstore-timestamp": ("verify-signatures/", 3),
    "DE": ("status-codes/", 10),
    "carrier_connected": ("events/", 1),
    "signature": (re.compile(r"signature", re.IGNORECASE), 3),
}
# True once results are shown and have not changed for a moment (the index
# answers each key press; the last answer wins).
RESULTS_SETTLED = """() => {
    const list = document.querySelector('.md-search-result');
    if (!window.__searchWatch) {
        window.__searchChanged = performance.now();
        window.__searchWatch = new MutationObserver(
            () => { window.__searchChanged = performance.now(); });
        window.__searchWatch.observe(
            list, {subtree: true, childList: true, characterData: true});
    }
    return list.querySelector('.md-search-result__item') !== null
        && performance.now() - window.__searchChanged > 400;
}"""


@pytest.fixture(scope="module")
def searcher(browser: Browser, site: Site) -> Iterator[tuple[Page, Watch]]:
    """The home page in a light-palette tab, kept open for every search: the
    theme's search worker indexes the site once per page load, so a reader
    who searches again on the same page waits for that once."""
    context, watch = open_context(browser, "light")
    page = context.new_page()
    visit(page, site.pages[0])
    yield page, watch
    context.close()
    assert watch.offsite == [], f"requests left 127.0.0.1: {watch.offsite}"


@pytest.mark.parametrize("term", list(SEARCHES))
def test_search_finds_the_right_page(
    searcher: tuple[Page, Watch], site: Site, term: str
) -> None:
    page, watch = searcher
    box = page.locator("input.md-search__input")
    box.click()
    box.fill("")  # the previous search's term, if any
    page.wait_for_function(
        "() => !document.querySelector('.md-search-result__item')"
    )
    box.press_sequentially(term, delay=20)
    page.wait_for_function(RESULTS_SETTLED, polling=100)
    want, rank = SEARCHES[term]
    results = page.locator(".md-search-result__item").all()[:rank]
    found = []  # (page URL, page title) of each of the first results
    for result in results:
        link = result.locator("a").first
        title = link.locator("h1, h2").first.inner_text()
        found.append(
            (
                urlsplit(link.evaluate("a => a.href"))
                ._replace(query="")
                .geturl(),
                title,
            )
        )
    if isinstance(want, str):
        hits = [i for i, (url, _) in enumerate(found) if url == site.url(want)]
    else:
        hits = [
            i
            for i, (url, title) in enumerate(found)
            if want.search(title + url)
        ]
    assert hits, f"{term!r} found {found}"
    # The reader opens the result in a new tab, so the search stays open
    # for the next term.
    with page.context.expect_page() as opened:
        results[hits[0]].locator("a").first.click(modifiers=["ControlOrMeta"])
    result_page = opened.value
    result_page.wait_for_load_state()
    assert urldefrag(result_page.url).url.split("?")[0] == found[hits[0]][0]
    assert term.lower() in result_page.locator("article").inner_text().lower()
    result_page.close()
    assert watch.errors == []


# A reader's first move, each way a reader makes one.
FIRST_MOVES = {
    "key": lambda page: page.keyboard.press("ArrowDown"),
    "pointer": lambda page: page.mouse.move(200, 300),
    # A scroll as a scrollbar drag makes it (a wheel turn scrolls too).
    "scroll": lambda page: page.evaluate("window.scrollBy(0, 400)"),
    "tab": lambda page: page.keyboard.press("Tab"),
}


@pytest.mark.parametrize("move", list(FIRST_MOVES))
def test_the_theme_starts_on_the_first_interaction(
    reader: tuple[Page, Watch], site: Site, move: str
) -> None:
    """The page reads before any script of the theme runs, and the reader's
    first move of any kind starts it: copy buttons appear."""
    page, watch = reader
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    visit(page, site.url("manage-webhooks/"), wake=False)
    page.wait_for_timeout(300)
    assert not any("/javascripts/" in url for url in requested), requested
    assert not page.evaluate(browser_support.THEME_STARTED)
    assert page.locator("button.md-code__button").count() == 0
    assert page.locator("article h1").is_visible()
    assert page.locator("article .highlight code").first.is_visible()

    FIRST_MOVES[move](page)
    page.wait_for_function(browser_support.THEME_STARTED)
    # The theme mounts its components after its bundle has run, so the
    # buttons may come a moment after ``component$`` exists: wait for them
    # (a timeout fails the test) rather than count at once.
    page.locator("button.md-code__button").first.wait_for(state="attached")
    assert watch.errors == []


def test_a_shortcut_pressed_first_still_opens_search(
    reader: tuple[Page, Watch], site: Site
) -> None:
    """A key that woke the page still does what it says: "/" opens search
    with the cursor in its box."""
    page, watch = reader
    visit(page, site.url("events/"), wake=False)
    page.keyboard.press("/")
    page.wait_for_function(browser_support.THEME_STARTED)
    page.wait_for_function(
        "() => document.activeElement.matches('input.md-search__input')"
    )
    assert page.locator("#__search").is_checked()
    assert watch.errors == []


@pytest.mark.parametrize("palette", list(PALETTES))
def test_the_palette_toggle_works_and_is_remembered(
    browser: Browser, site: Site, palette: str
) -> None:
    context, watch = open_context(browser, palette)
    page = context.new_page()
    # The system's palette shows before the theme's script runs, and after.
    visit(page, site.pages[0], wake=False)
    assert scheme(page) == PALETTES[palette]
    visit(page, site.pages[0])
    start = scheme(page)
    assert start == PALETTES[palette]
    background = page.eval_on_selector(
        "body", "b => getComputedStyle(b).background"
    )
    page.locator("form[data-md-component=palette] label:visible").click()
    other = scheme(page)
    assert other != start
    assert page.eval_on_selector(
        "body", "b => getComputedStyle(b).background"
    ) != (background)
    # Another page, and the same page reloaded, keep the reader's choice.
    visit(page, site.pages[-1])
    assert scheme(page) == other
    page.reload()
    assert scheme(page) == other
    context.close()
    assert watch.errors == []
    assert watch.offsite == []


def test_no_browser_means_skip_locally_and_fail_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A missing browser skips with the install command, and fails under CI."""
    monkeypatch.setenv("CHROMIUM_PATH", "/nonexistent/chromium")
    monkeypatch.setattr(browser_support.shutil, "which", lambda _name: None)
    monkeypatch.setattr(
        browser_support.os, "access", lambda _path, _mode: False
    )
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match="apt-get install chromium"
    ):
        browser_support.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception, match="apt-get install chromium"
    ):
        browser_support.require_chromium()
