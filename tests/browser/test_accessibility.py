"""axe finds nothing wrong on any page of the built site, in either palette.

The pages come from the sitemap, plus the 404 page a reader lands on after a
bad link. The theme's own issues are fixed in ``docs/_overrides/`` and
``docs/stylesheets/extra.css``; this test keeps them fixed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.support.browser import (
    PALETTES,
    Site,
    open_context,
    scheme,
    visit,
)
from tests.support.site import html_path, pages

pytestmark = pytest.mark.browser
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


def _describe(violation: dict) -> str:
    targets = ", ".join(str(n["target"]) for n in violation["nodes"][:3])
    return f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}"


ADDRESSES = [html_path(doc).removesuffix("index.html") for doc in pages()] + [
    "no-such-page/"
]


@pytest.fixture(scope="module")
def tabs(browser: Browser) -> Iterator[dict[str, Page]]:
    """One tab per palette, reused by every page of this worker."""
    opened = {}
    for palette in PALETTES:
        context, watch = open_context(browser, palette)
        opened[palette] = (context, watch, context.new_page())
    yield {palette: page for palette, (_, _, page) in opened.items()}
    for context, watch, _ in opened.values():
        context.close()
        assert watch.offsite == []


@pytest.mark.parametrize("address", ADDRESSES)
def test_axe_finds_no_violations_in_either_palette(
    tabs: dict[str, Page], site: Site, address: str
) -> None:
    """One item per page, so that the pages spread over the workers; both
    palettes at once, each in its own renderer."""
    axe_script = Axe().axe_script
    for palette, page in tabs.items():
        visit(page, site.url(address))
        assert scheme(page) == PALETTES[palette], address
        page.evaluate(axe_script)
        page.evaluate(START_AXE, AXE_OPTIONS)
    report, rules = [], 0
    for palette, page in tabs.items():
        page.wait_for_function(AXE_DONE, polling=200, timeout=180_000)
        result = page.evaluate("window.__axe")
        assert "error" not in result, result
        rules += result["rules"]
        report += [f"{palette}: {_describe(v)}" for v in result["violations"]]
    assert rules > 0, "axe checked nothing"
    assert report == [], f"{address}:\n" + "\n".join(report)


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
