"""Site-wide checks on the built HTML: placeholders filled, pages described,
nothing loaded from another host, a useful 404, keys read from the environment.

Code blocks and tables have their own checks in test_blocks.py and
test_facts.py.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from tests.support.site import parsed


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def _code_blocks(soup: BeautifulSoup, language: str) -> list[str]:
    return [
        div.select_one("code").get_text()
        for div in soup.select(f"div.language-{language}.highlight")
    ]


def test_no_placeholder_survives_the_build(built_site):
    for page in _pages(built_site):
        assert "{{" not in page.read_text(), page


def test_every_page_describes_itself(built_site):
    for page in _pages(built_site):
        soup = parsed(page)
        description = soup.find("meta", attrs={"name": "description"})
        assert description, page
        assert description["content"].strip(), page


LOADED = {"stylesheet", "preload", "modulepreload", "icon", "manifest"}


def test_no_page_loads_anything_from_another_host(built_site):
    for page in _pages(built_site):
        soup = parsed(page)
        urls = [
            tag.get("src")
            for tag in soup.find_all(["script", "img", "iframe"])
        ]
        urls += [
            link.get("href")
            for link in soup.find_all("link")
            if LOADED & set(link.get("rel", []))
        ]
        for url in filter(None, urls):
            assert not urlsplit(url).netloc, f"{page} loads {url}"


def test_the_404_page_leads_back_into_the_guide(built_site):
    soup = parsed(built_site / "404.html")
    links = [a.get_text(strip=True) for a in soup.select("article a")]

    assert "Create a webhook" in links
    assert "Introduction" in links


def test_curl_examples_read_the_key_from_the_environment(built_site):
    for page in _pages(built_site):
        soup = parsed(page)
        for code in _code_blocks(soup, "bash"):
            for line in code.splitlines():
                if "API-Key:" in line:
                    assert re.search(
                        r"API-Key: \$YOURSTORE_API_KEY\b", line
                    ), line


# Link texts that say nothing of where they lead: Lighthouse's SEO audit
# ("Links do not have descriptive text") fails a page for any of them, and a
# screen reader listing a page's links reads them out of context.
VAGUE = {
    "click here",
    "click this",
    "go",
    "here",
    "info",
    "information",
    "learn more",
    "link",
    "more",
    "more info",
    "more information",
    "read more",
    "see more",
    "start",
    "this",
}


def test_every_link_says_where_it_leads(built_site):
    vague = []
    for page in _pages(built_site):
        soup = parsed(page)
        for link in soup.select("article a[href]"):
            text = " ".join(link.get_text().split()).lower()
            if text in VAGUE:
                where = page.relative_to(built_site)
                vague.append(f"{where}: {link['href']} reads {text!r}")
    assert vague == []


def test_code_s_plain_tokens_are_bare_text_coloured_as_code(built_site):
    """The build unwraps Pygments' whitespace and plain-name spans
    (``docs/_hooks/build.py``): invisible only while the theme colours a
    plain name as the code's own text, in both palettes."""
    (css,) = (built_site / "assets" / "stylesheets").glob("main.*.min.css")
    (palette,) = (built_site / "assets" / "stylesheets").glob(
        "palette.*.min.css"
    )
    assert ".highlight .n{color:var(--md-code-hl-name-color)}" in (
        css.read_text()
    )
    for sheet in (css, palette):
        names = re.findall(
            r"--md-code-hl-name-color:([^;}]*)", sheet.read_text()
        )
        assert names, sheet.name
        assert set(names) == {"var(--md-code-fg-color)"}, sheet.name
    extra = (built_site / "stylesheets" / "extra.css").read_text()
    assert "--md-code-hl-name-color" not in extra
    assert not re.search(r"\.n(?![\w-])", extra)  # no rule of its own
    for page in built_site.rglob("*.html"):
        found = re.findall(r'<span class="[wn]">', page.read_text())
        assert not found, page.relative_to(built_site)
