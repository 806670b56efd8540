"""The site as built: its pages, the Markdown each was built from, and the
code blocks, tables and inline code a reader sees.

Blocks are read from the HTML (what a reader sees and copies: sections
expanded, imports added, placeholders filled) and from the Markdown as the
build hook prepared it (how the page wrote them). Both carry the line the
fence was written on (``data-src-line``, see ``docs/_hooks/fences.py``), and
that line is how a block meets its fence: never by position.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, Tag

from docs._hooks import build, fences
from docs._hooks.fences import Fence
from docs._hooks.pages import sections as nav_sections
from tests.support.paths import DOCS, ROOT

SKIPPED_DOCS = ("_hooks", "_overrides")
ANNOTATION = build.programs.ANNOTATION  # "  # (1)!" in a code line
BUILD_ENV = {"DISABLE_MKDOCS_2_WARNING": "true", "NO_MKDOCS_2_WARNING": "1"}


# ----------------------------------------------------------------------- pages
def source_pages(docs: Path = DOCS) -> list[str]:
    """Every hand-written Markdown page, relative to ``docs/``."""
    return sorted(
        path.relative_to(docs).as_posix()
        for path in docs.rglob("*.md")
        if path.relative_to(docs).parts[0] not in SKIPPED_DOCS
    )


@cache
def generated_pages() -> dict[str, str]:
    """Pages the build generates (gen-files scripts), by path: Markdown:
    the Reference (``docs/_hooks/reference.py``)."""
    from docs._hooks.reference import generated_pages as reference

    return reference()


def pages() -> list[str]:
    """Every page of the site: hand-written and generated."""
    return sorted([*source_pages(), *generated_pages()])


def raw_markdown(page: str) -> str:
    """The page as written (or generated), before the build hook."""
    generated = generated_pages()
    if page in generated:
        return generated[page]
    return (DOCS / page).read_text()


@cache
def _config() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml uses a few tags (!relative); what is read here needs none.
    Loader.add_multi_constructor("!", lambda *_: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)


def site_url() -> str:
    return str(_config()["site_url"])


def nav_pages() -> list[str]:
    """The pages in the order of the navigation, the order a reader meets
    them in."""
    return [
        path
        for _, listed in nav_sections(_config()["nav"])
        for _, path in listed
        if path.endswith(".md")
    ]


@cache
def prepared_markdown(page: str) -> str:
    """The page as MkDocs converts it (``docs/_hooks/build.py``)."""
    source = raw_markdown(page)
    skipped = build.front_matter_lines(source)
    body = "\n".join(source.split("\n")[skipped:])
    listing = (
        build.pages.table(_config()["nav"], page, raw_markdown)
        if build.pages.MARKER.search(body)
        else ""
    )
    return build.prepare(body, page, site_url(), listing, skipped)


@cache
def page_fences(page: str) -> dict[str, Fence]:
    """The fences of a page as built, by the line they came from."""
    found: dict[str, Fence] = {}
    for fence in fences.fences(prepared_markdown(page)):
        found[fence.source_line] = fence
    return found


@cache
def written_fences(page: str) -> dict[int, Fence]:
    """The fences as the page's author wrote them, by line."""
    return {f.line: f for f in fences.fences(raw_markdown(page))}


def html_path(page: str) -> str:
    """Where MkDocs (``use_directory_urls``) writes the HTML of ``page``."""
    stem = page[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return stem + ".html"
    return stem + "/index.html"


# ------------------------------------------------------------------ building
def build_site(site_dir: Path) -> None:
    """``mkdocs build --strict`` into ``site_dir``; fails with its log."""
    env = {**os.environ, **BUILD_ENV}
    env.pop("YOURSTORE_API_KEY", None)
    env.pop("YOURSTORE_API_BASE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-d",
            str(site_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"strict build failed:\n{result.stderr}")


def build_shared_site(shared: Path) -> None:
    """Build into ``shared/site`` and mark it built (``site.built``): the
    build the test workers share (see ``built_site`` in tests/conftest.py)."""
    build_site(shared / "site")
    (shared / "site.built").touch()


# ---------------------------------------------------------------------- blocks
@dataclass
class Block:
    """A code block as the built page shows it."""

    page: str
    line: str  # the fence it came from: "42", or "40+3" for generated ones
    lang: str
    text: str  # what a reader sees and copies (annotation markers included)
    attrs: dict[str, str] = field(default_factory=dict)  # data-* markers
    title: str | None = None
    tab: str | None = None  # the label of the content tab holding it
    tabs: tuple[str, ...] = ()  # the labels of that tab set
    collapsed: bool = False  # inside a closed ``??? example``

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def code(self) -> str:
        """The text without annotation markers, as the copy button gives."""
        return "\n".join(
            ANNOTATION.sub("", ln) for ln in self.text.split("\n")
        )


def _tab_labels(node: Tag) -> tuple[str | None, tuple[str, ...]]:
    block = node.find_parent("div", class_="tabbed-block")
    if block is None:
        return None, ()
    tabbed_set = block.find_parent("div", class_="tabbed-set")
    blocks = tabbed_set.select(
        ":scope > div.tabbed-content > div.tabbed-block"
    )
    labels = [
        label.get_text(strip=True)
        for label in tabbed_set.select(":scope > div.tabbed-labels > label")
    ]
    return labels[blocks.index(block)], tuple(labels)


def _collapsed(node: Tag) -> bool:
    return any(
        "open" not in details.attrs for details in node.find_parents("details")
    )


def article(soup: BeautifulSoup) -> Tag:
    found = soup.select_one("article")
    assert found is not None, "page without an <article>"
    return found


@dataclass(frozen=True)
class BuiltSite:
    """A built site on disk."""

    root: Path

    def soup(self, page: str) -> BeautifulSoup:
        return parsed(self.root / html_path(page))

    def blocks(self, page: str) -> list[Block]:
        """Every code block of the page, in order; a ``<pre>`` the
        highlighter did not make has no line and no language."""
        return _blocks(self.root, page)

    def block(self, page: str, line: str) -> Block | None:
        return next((b for b in self.blocks(page) if b.line == line), None)

    def inline_code(self, page: str) -> list[str]:
        """The text of every inline ``<code>`` in the page's prose."""
        return [
            code.get_text()
            for code in article(self.soup(page)).find_all("code")
            if code.find_parent("pre") is None
        ]

    def download(self, name: str) -> Path:
        return self.root / build.programs.DOWNLOADS / name


def parsed(path: Path) -> BeautifulSoup:
    """The HTML file at ``path``, parsed once per test process: parsing the
    whole site takes about 2 s, and a dozen tests walk every page. Callers
    read the tree and never change it."""
    return parse(path.read_text())


@cache  # keyed on the text, so a page read twice is parsed once
def parse(html: str) -> BeautifulSoup:
    soup = BeautifulSoup(html, "html.parser")
    # Kept for the whole session: set aside from the garbage collector, which
    # would otherwise walk every node of every page on each full pass.
    gc.freeze()
    return soup


@cache
def _blocks(root: Path, page: str) -> list[Block]:
    found = []
    for pre in article(parsed(root / html_path(page))).find_all("pre"):
        holder = pre.find_parent("div", class_="highlight")
        if holder is None:
            found.append(Block(page, "", "", pre.get_text()))
            continue
        langs = [
            c.removeprefix("language-")
            for c in holder["class"]
            if c.startswith("language-")
        ]
        title = holder.select_one(":scope > span.filename")
        code = pre.find("code")
        tab, tabs = _tab_labels(holder)
        attrs = {
            k: v for k, v in holder.attrs.items() if k.startswith("data-")
        }
        found.append(
            Block(
                page=page,
                line=attrs.pop(fences.LINE_ATTRIBUTE, ""),
                lang=langs[0] if langs else "",
                text=(code or pre).get_text(),
                attrs=attrs,
                title=title.get_text(strip=True) if title else None,
                tab=tab,
                tabs=tabs,
                collapsed=_collapsed(holder),
            )
        )
    return found


if __name__ == "__main__":  # the shared build, started in the background
    build_shared_site(Path(sys.argv[1]))
