"""axe finds nothing wrong on any page of the built site, in either palette.

The pages come from the sitemap, plus the 404 page a reader lands on after a bad link.
The theme's own issues are fixed in ``docs/_overrides/`` and
``docs/stylesheets/extra.css``; this test keeps them fixed.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser

from tests.browser_support import (  # noqa: F401 (fixtures)
    PALETTES,
    Site,
    chromium_path_fixture,
    launch_args_fixture,
    open_context,
    scheme,
    site_fixture,
    visit,
)

pytestmark = pytest.mark.browser
# Report nodes for violations only: listing every passing node doubles the run time.
AXE_OPTIONS = {"resultTypes": ["violations"]}


def _describe(violation: dict) -> str:
    targets = ", ".join(str(n["target"]) for n in violation["nodes"][:3])
    return (
        f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}"
    )


@pytest.mark.parametrize("palette", list(PALETTES))
def test_axe_finds_no_violations(browser: Browser, site: Site, palette: str) -> None:
    context, watch = open_context(browser, palette)
    page = context.new_page()
    axe = Axe()
    report, checked = [], 0
    for url in [*site.pages, site.url("no-such-page/")]:
        visit(page, url)
        assert scheme(page) == PALETTES[palette], site.name(url)
        result = axe.run(page, options=AXE_OPTIONS)
        checked += len(result.response["passes"])
        report += [
            f"{site.name(url)}: {_describe(v)}" for v in result.response["violations"]
        ]
    context.close()
    assert checked > 0, "axe checked nothing"
    assert watch.offsite == []
    assert report == [], "\n".join(report)


def test_axe_catches_a_violation(browser: Browser, site: Site) -> None:
    """The check above can fail: an image without alternative text is reported."""
    context, _ = open_context(browser, "light")
    page = context.new_page()
    visit(page, site.pages[0])
    page.evaluate(
        """() => { const img = document.createElement('img');
                   img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
                   document.querySelector('article').append(img); }"""
    )
    violations = {v["id"] for v in Axe().run(page).response["violations"]}
    context.close()
    assert "image-alt" in violations
