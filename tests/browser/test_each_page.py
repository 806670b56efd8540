"""Every page of the built site as a reader meets it, in each palette and on
a phone: it loads cleanly, axe finds nothing wrong, each copy button copies
exactly what its block shows, and no table needs sideways scrolling.

One test item per page, so the pages spread over the workers. Each item
loads its page once per palette and runs every check on that load: loading
each page again for each check was most of the browser tests' time. The
pages come from the sitemap, plus the 404 page a reader lands on after a bad
link. The theme's own accessibility issues are fixed in
``docs/_overrides/`` and ``docs/stylesheets/extra.css``; this test keeps
them fixed. Nothing a page loads may leave 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.support.browser import (
    PALETTES,
    Site,
    Watch,
    open_context,
    scheme,
    source_page,
    visit,
)
from tests.support.paths import ROOT
from tests.support.site import BuiltSite, html_path, pages

pytestmark = pytest.mark.browser

MISSING = "no-such-page/"  # an address no page has: the site's 404 page
PAGE_OF = {html_path(doc).removesuffix("index.html"): doc for doc in pages()}
ADDRESSES = [*PAGE_OF, MISSING]
DESKTOP = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}

# Report nodes for violations only: listing every passing node doubles the run
# time.
AXE_OPTIONS = {"resultTypes": ["violations"]}
# Start axe without waiting for it, so the two palettes' pages (each in its own
# renderer process) are checked at the same time; the result lands in
# window.__axe.
START_AXE = """options => {
    window.__axe = undefined;
    axe.run(document, options).then(
        result => {
            const rules = result.passes.length + result.inapplicable.length;
            window.__axe = {violations: result.violations, rules: rules};
        },
        error => { window.__axe = {error: String(error)}; });
}"""
AXE_DONE = "() => window.__axe !== undefined"
OVERFLOWING_TABLES = """() => [...document.querySelectorAll(
    '.md-typeset__scrollwrap, .md-typeset__table')]
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => (e.querySelector('th') || {innerText: '?'}).innerText)"""


@pytest.fixture(scope="module")
def tabs(
    browser: Browser, site: Site
) -> Iterator[dict[str, tuple[Page, Watch]]]:
    """One tab per palette, reused by every page of this worker; the light
    one may read the clipboard.

    Search is not what these checks look at (``test_pages.py`` searches): the
    theme's search worker gets the index's configuration with no documents,
    so it does not index the whole site again on every page load, which was
    a third of these tests' processor time.
    """
    index = json.loads(
        (site.root / "search" / "search_index.json").read_text()
    )
    empty = json.dumps({**index, "docs": []})
    opened = {}
    for palette in PALETTES:
        context, watch = open_context(
            browser, palette, permissions=["clipboard-read", "clipboard-write"]
        )
        context.route(
            "**/search/search_index.json",
            lambda route: route.fulfill(
                body=empty, content_type="application/json"
            ),
        )
        opened[palette] = (context, watch, context.new_page())
    yield {
        palette: (page, watch) for palette, (_, watch, page) in opened.items()
    }
    late = []
    for palette, (context, watch, page) in opened.items():
        # The late requests (search index and worker) of the last page.
        page.wait_for_load_state("networkidle")
        late += [f"{palette}: {problem}" for problem in watch.errors]
        late += [f"{palette}: request to {url}" for url in watch.offsite]
        context.close()
    assert late == []


def _load_problems(
    page: Page, site: Site, address: str, status: int, watch: Watch
) -> list[str]:
    """What is wrong with the page just loaded in ``page``."""
    if address == MISSING:
        # The document's own 404 is the only error: the theme's CSS and JS all
        # load from the site's path, at an unknown address too.
        wrong = [] if status == 404 else [f"HTTP {status}, not 404"]
        return wrong + watch.offsite + watch.errors[1:]
    problems = [] if status == 200 else [f"HTTP {status}"]
    if not page.locator("article h1").count():
        problems.append("no heading")
    source = source_page(site, site.url(address))
    edit = page.locator("article a[title='Edit this page']")
    if source and not (
        edit.count() == 1
        and edit.get_attribute("href").endswith(
            "/edit/main/" + source.relative_to(ROOT).as_posix()
        )
    ):
        problems.append(f"no edit link to {source.name}")
    problems += watch.errors
    problems += [f"request to {url}" for url in watch.offsite]
    return problems


def _describe(violation: dict) -> str:
    targets = ", ".join(str(n["target"]) for n in violation["nodes"][:3])
    return f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}"


# Make the block visible as a reader would find it, in one call: bring its tab
# to the front (a click on the tab's label), open any collapsed admonition
# around it, and empty the clipboard.
REVEAL = """async block => {
    const tab = block.closest('.tabbed-block');
    if (tab) {
        const index = [...tab.parentElement.children].indexOf(tab);
        const set = tab.closest('.tabbed-set');
        set.querySelectorAll(':scope > .tabbed-labels > label')[index].click();
    }
    for (let d = block.closest('details'); d;
         d = d.parentElement.closest('details'))
        d.open = true;
    await navigator.clipboard.writeText('');
}"""
# What the clipboard holds once the copy lands (10 s at most).
COPIED = """async () => {
    for (let waited = 0; waited < 10000; waited += 20) {
        const text = await navigator.clipboard.readText();
        if (text !== '') return text;
        await new Promise(resolve => setTimeout(resolve, 20));
    }
    return '';
}"""


def _copy(page: Page, block: int) -> str:
    """Click the copy button of the page's ``block``-th Python block; the
    clipboard."""
    target = page.locator(".language-python.highlight").nth(block)
    target.evaluate(REVEAL)
    # A real click, as a reader makes it: it moves the pointer over the
    # block, which is what shows the button.
    target.locator("button.md-code__button").click()
    return page.evaluate(COPIED)


def _check_copy_buttons(page: Page, site: Site, doc: str) -> None:
    """What a reader copies is the code as shown, without the annotation
    markers, and nothing a shell would choke on (no prompts)."""
    expected = [
        b.code for b in BuiltSite(site.root).blocks(doc) if b.lang == "python"
    ]
    for index, want in enumerate(expected):
        copied = _copy(page, index)
        assert copied.strip("\n") == want.strip("\n"), (
            f"{doc} block {index + 1}"
        )
        assert not re.search(r"^\s*(>>>|\$ )", copied, re.MULTILINE)


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_page_in_each_palette_and_on_a_phone(
    tabs: dict[str, tuple[Page, Watch]], site: Site, address: str
) -> None:
    axe_script = Axe().axe_script
    problems = []
    for palette, (page, watch) in tabs.items():
        watch.clear()
        page.set_viewport_size(DESKTOP)
        status = visit(page, site.url(address))
        if scheme(page) != PALETTES[palette]:
            problems.append(f"{palette}: palette {scheme(page)}")
        problems += [
            f"{palette}: {problem}"
            for problem in _load_problems(page, site, address, status, watch)
        ]
        watch.clear()  # seen: the tab's teardown looks for later ones
        page.evaluate(axe_script)
        page.evaluate(START_AXE, AXE_OPTIONS)
    assert problems == [], f"{address} does not load cleanly: {problems}"

    report, rules = [], 0
    for palette, (page, _) in tabs.items():
        page.wait_for_function(AXE_DONE, polling=200, timeout=180_000)
        result = page.evaluate("window.__axe")
        assert "error" not in result, result
        rules += result["rules"]
        report += [f"{palette}: {_describe(v)}" for v in result["violations"]]
    assert rules > 0, "axe checked nothing"
    assert report == [], f"{address}:\n" + "\n".join(report)

    if address in PAGE_OF:
        page, watch = tabs["light"]
        _check_copy_buttons(page, site, PAGE_OF[address])
        assert watch.errors == []
        page.set_viewport_size(PHONE)  # the page's layout for a phone
        wide = page.evaluate(OVERFLOWING_TABLES)
        assert wide == [], f"{address}: tables scroll sideways at 390 px"


def test_the_pages_have_python_blocks_to_copy(site: Site) -> None:
    """The copy check above has blocks to try (it would pass with none)."""
    built = BuiltSite(site.root)
    blocks = [b for doc in pages() for b in built.blocks(doc)]
    assert sum(b.lang == "python" for b in blocks) > 50


def test_axe_catches_a_violation(browser: Browser, site: Site) -> None:
    """The check above can fail: an image without alternative text is
    reported."""
    context, _ = open_context(browser, "light")
    page = context.new_page()
    visit(page, site.pages[0])
    page.evaluate(
        """() => { const img = document.createElement('img');
                   img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
                   document.querySelector('article').append(img); }"""
    )
    violations = {
        v["id"]
        for v in Axe().run(page, options=AXE_OPTIONS).response["violations"]
    }
    context.close()
    assert "image-alt" in violations


def test_a_table_too_wide_for_a_phone_is_found(
    tabs: dict[str, tuple[Page, Watch]], site: Site
) -> None:
    """The phone check above can fail: a table wider than the screen is
    reported."""
    page, _ = tabs["light"]
    visit(page, site.url("events/"))
    page.set_viewport_size(PHONE)
    page.evaluate(
        """() => { const cell = document.querySelector('article td');
                   cell.textContent = 'x'.repeat(400); }"""
    )
    assert page.evaluate(OVERFLOWING_TABLES) != []


def test_every_page_of_the_sitemap_is_checked(site: Site) -> None:
    assert sorted(site.pages) == sorted(site.url(a) for a in PAGE_OF)
