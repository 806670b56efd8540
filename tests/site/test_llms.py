"""llms.txt, llms-full.txt and the Markdown copy of every page, read from the
built site.

The mkdocs-llmstxt plugin converts each built page back to Markdown, so code
that pymdownx.snippets embeds must arrive expanded and the ``{{ }}``
placeholders of the build hook filled; ``docs/_hooks/llms_sections.py`` tells
it which pages to list.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.support.browser import sitemap_paths
from tests.support.site import parsed

ENTRY = re.compile(
    r"^- \[(?P<title>[^\]]+)\]\((?P<url>[^)]+)\): (?P<what>.+)$"
)
# A snippet marker, or the start of a placeholder ({{ name }}) left unfilled:
# no code on the site opens two braces ("}}" closes nested JSON objects).
LEFTOVERS = re.compile(r"--8<--|\{\{")


@pytest.fixture(scope="module")
def listed(built_site: Path) -> dict[str, tuple[str, str]]:
    """``{page path: (title, description)}`` from llms.txt."""
    site_url, _ = sitemap_paths(built_site)
    found = {}
    for line in (built_site / "llms.txt").read_text().splitlines():
        entry = ENTRY.match(line)
        if entry:
            assert entry["url"].startswith(site_url), line
            path = entry["url"].removeprefix(site_url)
            found[path] = (entry["title"], entry["what"])
    return found


def page_copies(site: Path) -> dict[str, Path]:
    """``{page address: its Markdown copy}`` for every page of the site."""
    _, paths = sitemap_paths(site)
    return {path: site / path / "index.md" for path in paths}


@pytest.fixture(scope="module")
def copies(built_site: Path) -> dict[str, tuple[str, BeautifulSoup]]:
    """``{page address: (its Markdown copy, its built article)}``."""
    found = {}
    for path, copy in page_copies(built_site).items():
        article = parsed(copy.parent / "index.html").select_one("article")
        found[path] = (copy.read_text(), article)
    return found


def test_llms_txt_lists_every_page_with_a_description(listed, copies):
    assert len(copies) > 20
    assert sorted(listed) == sorted(f"{path}index.md" for path in copies)
    for path, (title, what) in listed.items():
        assert title.strip(), path
        assert len(what) > 20, path
        assert not what.endswith(":"), path


def test_every_page_has_a_markdown_copy_with_its_title(copies):
    for path, (markdown, article) in copies.items():
        title = article.find("h1").get_text().strip("¶ \n")
        assert markdown.startswith(f"# {title}\n"), path


def test_llms_full_txt_holds_every_page(built_site, copies):
    full = (built_site / "llms-full.txt").read_text()
    for path, (markdown, _) in copies.items():
        assert markdown.strip() in full, path


def test_code_is_expanded_and_placeholders_filled(built_site, copies):
    """Every code block a page shows is in its copy, as the page shows it,
    and no snippet marker or placeholder is left anywhere."""
    checked = 0
    for path, (markdown, article) in copies.items():
        for pre in article.find_all("pre"):
            code = "\n".join(
                line.rstrip()
                for line in pre.get_text().strip("\n").splitlines()
            )
            assert code in markdown, f"{path}: {code[:80]!r}"
            checked += 1
        assert not LEFTOVERS.search(markdown), path
    assert checked > 50
    for name in ("llms.txt", "llms-full.txt"):
        found = LEFTOVERS.findall((built_site / name).read_text())
        assert not found, (name, found)
