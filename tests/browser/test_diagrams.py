"""Every diagram as a reader's browser draws it, in both palettes, on a wide
screen and on a phone: an SVG with content, inside the column, with text
large enough to read and as far from the background as body text must be;
no console error, no request that leaves 127.0.0.1. (axe checks the pages
as a whole, diagrams included: test_each_page.py.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from docs._hooks import diagrams
from tests.support.browser import PALETTES, Site, open_context, scheme, visit
from tests.support.site import pages, raw_markdown

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
MIN_TEXT_PX = 9  # the smallest label, once the drawing is scaled to fit
MIN_CONTRAST = 4.5  # WCAG AA for text

# For each diagram on the page: what the reader's browser shows.
MEASURE = """() => {
    const channels = c => c.match(/[\\d.]+/g).map(Number);
    const luminance = rgb => {
        const [r, g, b] = rgb.slice(0, 3).map(v => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const background = el => {
        for (let e = el; e; e = e.parentElement) {
            const c = channels(getComputedStyle(e).backgroundColor);
            if (c.length < 4 || c[3] > 0) return c;
        }
        return [255, 255, 255];
    };
    return [...document.querySelectorAll('article figure.diagram')].map(f => {
        const svg = f.querySelector(':scope > svg');
        const box = svg.getBoundingClientRect();
        const column = f.closest('article').getBoundingClientRect();
        const scale = box.width / svg.viewBox.baseVal.width;
        const sizes = [...svg.querySelectorAll('text')].map(
            t => parseFloat(getComputedStyle(t).fontSize) * scale);
        const ink = luminance(channels(getComputedStyle(svg).color));
        const paper = luminance(background(f));
        return {
            name: f.dataset.diagram,
            width: box.width, height: box.height,
            left: box.left - column.left, right: column.right - box.right,
            texts: sizes.length,
            smallest: Math.min(...sizes),
            contrast: (Math.max(ink, paper) + 0.05) /
                      (Math.min(ink, paper) + 0.05),
            caption: (f.querySelector('figcaption') || {}).innerText || '',
            label: svg.getAttribute('aria-label') || '',
        };
    });
}"""


def _pages_with_diagrams() -> dict[str, list[str]]:
    found = {}
    for page in pages():
        names = [
            m["name"] for m in diagrams.MARKER.finditer(raw_markdown(page))
        ]
        if names:
            found[page] = names
    return found


def _url(site: Site, page: str) -> str:
    stem = page.removesuffix(".md")
    return site.url("" if stem == "index" else stem + "/")


@pytest.mark.parametrize("palette", list(PALETTES))
def test_every_diagram_is_drawn_readably(
    browser: Browser, site: Site, palette: str
) -> None:
    """Each page with a diagram is loaded once per palette and measured at
    each width: the window is resized, as a reader turns a tablet, instead
    of the page being loaded again."""
    expected = _pages_with_diagrams()
    assert set().union(*expected.values()) == set(diagrams.DIAGRAMS)
    context, watch = open_context(browser, palette)
    page = context.new_page()
    problems = []
    for doc, names in expected.items():
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        # Drawn without the theme's script: no interaction needed.
        visit(page, _url(site, doc), wake=False)
        assert scheme(page) == PALETTES[palette], doc
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            drawn = page.evaluate(MEASURE)
            assert [d["name"] for d in drawn] == names, doc
            problems += _problems(drawn, f"{doc} ({palette}, {width} px)")
    context.close()
    assert watch.offsite == [], f"requests left 127.0.0.1: {watch.offsite}"
    assert watch.errors == [], watch.errors
    assert problems == [], "\n".join(problems)


def _problems(drawn: list[dict], where: str) -> list[str]:
    """What is wrong with the diagrams measured on one page."""
    problems = []
    for d in drawn:
        here = f"{where} {d['name']}"
        if d["width"] < 100 or d["height"] < 100 or d["texts"] < 5:
            problems.append(f"{here}: drawn {d}")
        if d["left"] < -1 or d["right"] < -1:
            problems.append(f"{here}: wider than the column {d}")
        if d["smallest"] < MIN_TEXT_PX:
            problems.append(f"{here}: text at {d['smallest']:.1f} px")
        if d["contrast"] < MIN_CONTRAST:
            problems.append(f"{here}: contrast {d['contrast']:.2f}")
        if len(d["caption"]) < 80 or not d["label"]:
            problems.append(f"{here}: no text alternative {d}")
    return problems
