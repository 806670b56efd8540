"""Read every code block of the site, and take shell and curl commands apart.

The checks in ``tests/site/`` work on what a reader sees: the built
HTML, where snippets are expanded, placeholders filled and tables generated.
Each HTML block is paired with the fence it came from in ``docs/`` (same page,
same order), so a check can also look at how the block was written (a Python
block must be made of named snippet sections, not pasted code).

Markers a page puts on a fence (they land on the block's ``div.highlight``):

``data-schema="<name>"`` (JSON)
    The schema in ``snippets.schemas.SCHEMAS`` the block must match.
``data-response`` (JSON)
    The block is the answer to the nearest API curl above it on the page; it
    must equal what the fake API answers, ids and timestamps aside.
``data-expect="409"`` (bash)
    The HTTP status each curl in the block gets, in order (``"200 409"``).
    Without it an API curl must get a 2xx.
``data-receiver="snippets.module:app"`` (bash)
    curls to ``http://127.0.0.1:PORT/...`` are replayed against that app's test
    client.
``data-fragment="why"`` (python)
    Code that is not a whole program; it is not run, but it must compile.
"""

from __future__ import annotations

import ast
import re
import shlex
import textwrap
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup, Tag

from tests.support.paths import ROOT

DOCS = ROOT / "docs"
SKIPPED_DOCS = ("_hooks", "_overrides")


# ----------------------------------------------------------------------- pages
def source_pages(docs: Path = DOCS) -> list[str]:
    """Every Markdown page of the site, relative to ``docs/``: those written
    in ``docs/`` and the Reference pages the build generates."""
    written = [
        str(path.relative_to(docs))
        for path in docs.rglob("*.md")
        if path.relative_to(docs).parts[0] not in SKIPPED_DOCS
    ]
    return sorted(written + (list(generated()) if docs == DOCS else []))


@cache
def generated() -> dict[str, str]:
    """The generated pages (``docs/_hooks/reference.py``): path -> Markdown."""
    from docs._hooks.reference import generated_pages

    return generated_pages()


def page_markdown(page: str, docs: Path = DOCS) -> str:
    """The Markdown a page is built from, written or generated."""
    if docs == DOCS and page in generated():
        return generated()[page]
    return (docs / page).read_text()


def html_path(page: str) -> str:
    """Where MkDocs (``use_directory_urls``) writes the HTML of ``page``."""
    stem = page[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return stem + ".html"
    return stem + "/index.html"


# ---------------------------------------------------------------------- blocks
@dataclass
class Block:
    page: str  # docs/-relative Markdown path
    index: int  # 0-based position among the page's code blocks
    lang: str  # "python", "json", "bash", ... ("" when the fence has none)
    text: str  # what the reader sees (and copies)
    attrs: dict[str, str] = field(default_factory=dict)  # data-* markers
    title: str | None = None
    tab: str | None = None  # label of the content tab holding the block
    tabs: tuple[str, ...] = ()  # the labels of that tab's set
    source: Fence | None = None  # the fence in docs/ it was built from

    def __str__(self) -> str:
        return f"{self.page} block {self.index + 1} ({self.lang or 'no language'})"


@dataclass
class Fence:
    line: int  # 1-based line of the opening fence
    info: str  # everything after the backticks
    body: str  # dedented content

    @property
    def lang(self) -> str:
        match = re.match(r"\s*\{?\s*\.?([A-Za-z0-9_+-]+)", self.info)
        return match.group(1) if match else ""


FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def fences(markdown: str) -> list[Fence]:
    """The fenced code blocks of a Markdown text, nested ones included, in
    order."""
    found: list[Fence] = []
    lines = markdown.splitlines()
    number = 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        if not opening:
            number += 1
            continue
        marker = opening["fence"]
        body: list[str] = []
        end = number + 1
        while end < len(lines):
            closing = FENCE.match(lines[end])
            if (
                closing
                and closing["fence"][0] == marker[0]
                and len(closing["fence"]) >= len(marker)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[end])
            end += 1
        text = textwrap.dedent("\n".join(body))
        found.append(Fence(number + 1, opening["info"].strip(), text))
        number = end + 1
    return found


def _tab_labels(node: Tag) -> tuple[str | None, tuple[str, ...]]:
    """The label of the content tab holding ``node``, and the labels of its
    set."""
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


def article(soup: BeautifulSoup) -> Tag:
    found = soup.select_one("article")
    assert found is not None, "page without an <article>"
    return found


def html_blocks(soup: BeautifulSoup, page: str) -> list[Block]:
    """Every code block of a built page: highlighted blocks and any bare
    ``<pre>``."""
    blocks: list[Block] = []
    for pre in article(soup).find_all("pre"):
        holder = pre.find_parent("div", class_="highlight")
        if (
            holder is None
        ):  # a <pre> the highlighter did not produce: claimed by none
            blocks.append(
                Block(page, len(blocks), "", pre.get_text(), {"raw": ""})
            )
            continue
        langs = [
            c[len("language-") :]
            for c in holder["class"]
            if c.startswith("language-")
        ]
        title = holder.select_one(":scope > span.filename")
        code = pre.find("code")
        tab, tabs = _tab_labels(holder)
        blocks.append(
            Block(
                page=page,
                index=len(blocks),
                lang=langs[0] if langs else "",
                text=(code or pre).get_text(),
                attrs={
                    k: v
                    for k, v in holder.attrs.items()
                    if k.startswith("data-")
                },
                title=title.get_text(strip=True) if title else None,
                tab=tab,
                tabs=tabs,
            )
        )
    return blocks


def site_blocks(site: Path, docs: Path = DOCS) -> dict[str, list[Block]]:
    """The code blocks of every page, each paired with its source fence."""
    pages: dict[str, list[Block]] = {}
    for page in source_pages(docs):
        soup = BeautifulSoup(
            (site / html_path(page)).read_text(), "html.parser"
        )
        blocks = html_blocks(soup, page)
        sources = fences(page_markdown(page, docs))
        for block, fence in zip(blocks, sources, strict=False):
            block.source = fence
        pages[page] = blocks
    return pages


def inline_code(soup: BeautifulSoup) -> list[str]:
    """The text of every inline ``<code>`` in the page's prose and tables."""
    return [
        code.get_text()
        for code in article(soup).find_all("code")
        if code.find_parent("pre") is None
    ]


# -------------------------------------------------------------- snippet
# sections
SECTION_LINE = re.compile(
    r"^(?P<path>snippets/[\w/]+\.py):(?P<section>[\w-]+)$"
)
SECTION_MARK = re.compile(r"#\s*--8<--\s*\[(start|end):([\w-]+)\]")


def section_refs(body: str) -> list[tuple[str, str]] | None:
    """``[(file, section), ...]`` when a fence holds only named snippet
    sections."""
    lines = [line.strip() for line in body.strip().splitlines()]
    if len(lines) < 3 or lines[0] != "--8<--" or lines[-1] != "--8<--":
        return None
    refs = [SECTION_LINE.match(line) for line in lines[1:-1] if line]
    if not refs or not all(refs):
        return None
    return [(m["path"], m["section"]) for m in refs if m]


def section(path: str, name: str, root: Path = ROOT) -> str:
    """The text of section ``name`` of ``path``, as pymdownx.snippets embeds
    it."""
    lines = (root / path).read_text().splitlines()
    inside, kept, found = False, [], False
    for line in lines:
        mark = SECTION_MARK.search(line)
        if mark and mark.group(2) == name:
            if mark.group(1) == "start":
                inside, found = True, True
            else:
                inside = False
            continue
        if mark:
            continue  # markers of other sections never show
        if inside:
            kept.append(line)
    if not found:
        raise KeyError(f"{path} has no section {name!r}")
    return textwrap.dedent("\n".join(kept))


# ------------------------------------------------------------- shell commands
@dataclass
class Command:
    words: list[str]  # the command, env assignments removed
    env: dict[str, str]  # NAME=value prefixes (and the name of an ``export``)
    text: str  # the logical line as written


ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def commands(script: str) -> list[Command]:
    """The commands of a shell block: continuations joined, comments
    dropped."""
    joined = re.sub(r"\\\n", " ", script)
    found: list[Command] = []
    pending = ""
    for physical in joined.splitlines():
        line = f"{pending}\n{physical}" if pending else physical
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # a quoted string goes on to the next line
            pending = line
            continue
        pending = ""
        if not words:
            continue
        env: dict[str, str] = {}
        while words and ENV_ASSIGNMENT.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        found.append(Command(words, env, line.strip()))
    if pending:
        raise ValueError(f"unclosed quotation in {pending!r}")
    return found


# ----------------------------------------------------------------------- curl
@dataclass
class Curl:
    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    include: bool  # -i: the reader sees the status line and headers

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def origin(self) -> str:
        split = urlsplit(self.url)
        return f"{split.scheme}://{split.netloc}"


class CurlError(ValueError):
    pass


FLAGS = {"-i", "--include", "-s", "--silent", "-S", "--show-error"}
WITH_VALUE = {
    "-X",
    "--request",
    "-H",
    "--header",
    "-d",
    "--data",
    "--data-raw",
}
WITH_VALUE |= {"--data-binary", "--json", "--url"}


def parse_curl(words: list[str], variables: dict[str, str]) -> Curl:
    """A curl command (already split by shlex) as a request. ``$NAME`` and
    ``${NAME}`` are filled from ``variables``; any other variable is an
    error."""

    def expand(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name not in variables:
                raise CurlError(f"unknown variable ${name}")
            return variables[name]

        return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)

    if not words or words[0] != "curl":
        raise CurlError("not a curl command")
    method: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    body: str | None = None
    include = False
    rest = words[1:]
    while rest:
        word = rest.pop(0)
        if (
            re.fullmatch(r"-[A-Za-z]\S+", word)
            and word not in FLAGS | WITH_VALUE
        ):
            # a cluster of short options: -iX POST, -sSd '{}', -XPOST
            expanded: list[str] = []
            for position, letter in enumerate(word[1:], start=2):
                expanded.append(f"-{letter}")
                if f"-{letter}" in WITH_VALUE:
                    expanded += [word[position:]] if word[position:] else []
                    break
            rest[:0] = expanded
            continue
        if word in FLAGS:
            include = include or word in ("-i", "--include")
            continue
        if word in WITH_VALUE:
            if not rest:
                raise CurlError(f"{word} without a value")
            value = expand(rest.pop(0))
            if word in ("-X", "--request"):
                method = value
            elif word in ("-H", "--header"):
                name, colon, content = value.partition(":")
                if not colon:
                    raise CurlError(f"malformed header {value!r}")
                headers[name.strip()] = content.strip()
            elif word == "--url":
                url = value
            else:
                if value.startswith("@"):
                    raise CurlError(
                        f"{word} {value}: bodies from files are not shown"
                    )
                if body is not None:
                    raise CurlError("more than one body")
                body = value
                if word == "--json":
                    headers.setdefault("Content-Type", "application/json")
                    headers.setdefault("Accept", "application/json")
            continue
        if word.startswith("-"):
            raise CurlError(f"option {word} is not understood")
        if url is not None:
            raise CurlError(f"a second URL {word!r}")
        url = expand(word)
    if url is None:
        raise CurlError("no URL")
    if not urlsplit(url).scheme:
        raise CurlError(f"URL without a scheme: {url!r}")
    return Curl(
        method=(method or ("POST" if body is not None else "GET")).upper(),
        url=url,
        headers=headers,
        body=body,
        include=include,
    )


# --------------------------------------------------------- names the code
# knows
@cache
def code_vocabulary(root: Path = ROOT) -> frozenset[str]:
    """Every identifier, attribute, argument and string in snippets/ and the
    fake."""
    names: set[str] = set()
    files = [
        *sorted((root / "snippets").glob("*.py")),
        root / "tests" / "support" / "fake_api.py",
    ]
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.alias):
                names.update((node.asname or node.name).split("."))
                names.update(node.name.split("."))
            elif isinstance(node, ast.Constant) and isinstance(
                node.value, str
            ):
                names.add(node.value)
            elif isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
        names.add(path.stem)
    return frozenset(names)
