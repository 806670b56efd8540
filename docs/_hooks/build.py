"""The build hook: every page passes through :func:`prepare` before MkDocs
converts it.

It does four things, in this order, and nothing else rewrites a page:

1. gives every fenced block the line it was written on (``fences.py``), so
   the tests can find the fence each block of the built HTML came from;
2. replaces each marker with what it stands for: a table or the example
   deliveries (``tables.py``), a diagram (``diagrams.py``), the list of
   every page (``pages.py``), or the box that offers a page's complete
   program for download (``<!-- download:create_webhook.py -->``);
3. writes, in front of each Python block made of named sections of
   ``snippets/``, the imports those sections use (``programs.py``), so a
   block shows its function with its imports and nothing else;
4. fills ``{{ placeholders }}`` from the source of truth
   (``settings_hook.py``).
"""

from __future__ import annotations

import posixpath
import re
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

# MkDocs loads a hook by its file path. Put the repository root on the path so
# the hook imports its helpers as ``docs._hooks.*``, as the tests do.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mkdocs.utils.meta import get_data  # noqa: E402

from docs._hooks import (  # noqa: E402
    diagrams,
    fences,
    glossary,
    memo,
    pages,
    programs,
    tables,
)
from docs._hooks.settings_hook import substitute  # noqa: E402

BS4 = version("beautifulsoup4")  # the glossary's parser, in its cache key
DOWNLOAD = re.compile(
    r"^(?P<indent> *)<!-- download:(?P<names>[\w.-]+(?: [\w.-]+)*) -->$",
    re.MULTILINE,
)


def page_url(site_url: str, page: str) -> str:
    """Where ``page`` (e.g. ``create-webhook.md``) is published."""
    stem = page.removesuffix(".md")
    path = "" if stem == "index" else stem.removesuffix("/index") + "/"
    return site_url.rstrip("/") + "/" + path


def _size(length: int) -> str:
    return f"{length / 1024:.1f} KB" if length >= 1024 else f"{length} bytes"


def download_box(names: list[str], page: str, site_url: str) -> str:
    """The box that offers complete programs for download: the page's own,
    or others a page's commands need beside them."""
    here = posixpath.dirname(page) or "."
    links, needed = [], []
    for name in names:
        program = programs.program(name)
        text = programs.compose(
            program, programs.version(), page_url(site_url, program.page)
        )
        link = posixpath.relpath(f"{programs.DOWNLOADS}/{name}", here)
        size = _size(len(text.encode()))
        links.append(
            f'[`{name}`]({link}){{ download="{name}" }} ({size},'
            f" [read it]({link}))"
        )
        needed += [
            line
            for line in programs.needed_requirements(program, text)
            if line not in needed
        ]
    zipped = posixpath.relpath(
        f"{programs.DOWNLOADS}/{programs.ARCHIVE}", here
    )
    listing = (
        links[0]
        if len(links) == 1
        else (
            ", ".join(links[:-1]) + " and " + links[-1] + ", into one folder"
        )
    )
    title = "The complete program" if len(names) == 1 else "The programs"
    lines = [
        f'!!! example "{title}: {", ".join(f"`{n}`" for n in names)}"',
        "",
        f"    Download {listing}; [all the examples]({zipped}) come as one"
        " zip.",
    ]
    if not needed:
        return "\n".join(
            [*lines, "    It needs Python 3.11 or newer, nothing else."]
        )
    command = wrap(
        ["python", "-m", "pip", "install"]
        + [f'"{line}"' for line in sorted(needed)]
    )
    return "\n".join(
        [
            *lines,
            f"    {'It runs on its own' if len(names) == 1 else 'They run'}"
            " with Python 3.11 or newer, after this install:",
            "",
            "    ```bash",
            *(f"    {line}" for line in command),
            "    ```",
        ]
    )


def wrap(words: list[str], width: int = 79) -> list[str]:
    """A shell command as lines of at most ``width``, continued with ``\\``."""
    lines = [words[0]]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) + 2 > width:
            lines[-1] += " \\"
            lines.append("  " + word)
        else:
            lines[-1] += " " + word
    return lines


def _expand(markdown: str, page: str, site_url: str, listing: str = "") -> str:
    """``markdown`` with every marker replaced, its fences numbered
    ``<marker line>+<n>``; ``listing`` is what ``<!-- pages -->`` stands
    for."""

    def generated(match: re.Match[str], text: str) -> str:
        line = markdown.count("\n", 0, match.start()) + 1
        return fences.number_fences(text, suffix=str(line))

    def marker(match: re.Match[str]) -> str:
        return generated(match, tables.expand(match))

    def download(match: re.Match[str]) -> str:
        box = download_box(match["names"].split(), page, site_url)
        indented = "\n".join(
            match["indent"] + line if line else line
            for line in box.split("\n")
        )
        return generated(match, indented)

    expanded = DOWNLOAD.sub(download, tables.MARKER.sub(marker, markdown))
    expanded = glossary.MARKER.sub(
        lambda _: glossary.page_markdown(), expanded
    )
    expanded = diagrams.MARKER.sub(diagrams.expand, expanded)
    return pages.MARKER.sub(lambda _: listing, expanded)


def _with_imports(markdown: str) -> str:
    """``markdown`` with the imports each Python block of named sections
    uses written in front of its sections, computed from the modules the
    sections come from (``programs.block_imports``)."""
    lines = markdown.split("\n")
    for fence in reversed(fences.fences(markdown)):
        refs = programs.section_refs(fence.body)
        if fence.lang != "python" or refs is None:
            continue
        imports = programs.block_imports(refs).split("\n")[:-1]
        lines[fence.line : fence.line] = [
            f"{fence.indent}{line}".rstrip() for line in imports
        ]
    return "\n".join(lines)


def front_matter_lines(source: str) -> int:
    """How many lines of ``source`` (a page as written) its front matter
    takes, MkDocs having removed them before the hook sees the page."""
    body, _ = get_data(source)
    return source[: len(source) - len(body)].count("\n")


def prepare(
    markdown: str,
    page: str,
    site_url: str,
    listing: str = "",
    skipped: int = 0,
) -> str:
    """The Markdown of ``page`` as MkDocs converts it; ``listing`` is the
    list of every page, for the page that shows it; ``skipped`` is how many
    lines of front matter came before ``markdown`` in the file, so that a
    block's line is its line in the file (blank lines stand in for them)."""
    numbered = fences.number_fences("\n" * skipped + markdown)
    expanded = _with_imports(_expand(numbered, page, site_url, listing))
    return substitute(expanded, page)


TABLE = re.compile(r"<table>(.*?)</table>", re.DOTALL)
HEADER = re.compile(r"<th[^>]*>(.*?)</th>", re.DOTALL)
ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def label_cells(html: str) -> str:
    """Give each table cell its column's heading (``data-label``), so that
    on a phone a row can stand as a card of labelled lines (extra.css)
    instead of a table too wide to read. Material has no such reflow; the
    tables here are simple (one header row, no spans), so a few lines do."""

    def table(match: re.Match[str]) -> str:
        body = match[1]
        labels = [
            TAG.sub("", h).replace('"', "&quot;").strip()
            for h in HEADER.findall(body)
        ]

        def row(cells: re.Match[str]) -> str:
            count = iter(labels)
            return (
                "<tr>"
                + re.sub(
                    r"<td(?=[ >])",
                    lambda _: f'<td data-label="{next(count, "")}"',
                    cells[1],
                )
                + "</tr>"
            )

        return "<table>" + ROW.sub(row, body) + "</table>"

    return TABLE.sub(table, html)


TASK = re.compile(
    r'(<li class="task-list-item"><label class="task-list-control">)'
    r"<input (?P<attrs>[^>]*)/?>(?P<rest>.*?)</li>",
    re.DOTALL,
)


def label_tasks(html: str) -> str:
    """Name each checkbox of a task list by its item's text, for screen
    readers: pymdownx.tasklist leaves the label around it empty."""

    def task(match: re.Match[str]) -> str:
        words = " ".join(TAG.sub("", match["rest"]).split())
        name = words.split(". ", 1)[0].split(" (", 1)[0].replace('"', "&quot;")
        return (
            f'{match[1]}<input aria-label="{name}" {match["attrs"]}/>'
            f"{match['rest']}</li>"
        )

    return TASK.sub(task, html)


# Pygments wraps each run of spaces between tokens in <span class="w">, which
# no style colours, and each plain name in <span class="n">, which Material
# colours --md-code-hl-name-color: the code's own text colour in both
# palettes (tests/site/test_site.py holds the theme to it). Bare, they read
# the same and weigh less: fewer elements for the browser to style and lay
# out (a sixth of a code-heavy page's), less HTML in a page's budget.
PLAIN_TOKEN = re.compile(r'<span class="[wn]">([^<]*)</span>')


def unwrap_plain_tokens(html: str) -> str:
    """Code blocks' whitespace and plain-name tokens as bare text."""
    return PLAIN_TOKEN.sub(r"\1", html)


def on_config(config: Any, **kwargs: Any) -> None:
    memo.install()  # llms.txt's page conversion, cached on disk


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    html = unwrap_plain_tokens(label_tasks(label_cells(html)))
    here = page.file.src_uri
    # The glossary pass parses the whole page: remembered on disk (memo.py),
    # keyed on all it reads.
    key = [memo.source_tag(glossary), BS4, html, here]
    return memo.remember(
        "glossary", key, lambda: glossary.link_first_uses(html, here)
    )


def on_page_markdown(
    markdown: str, page: Any, config: Any, files: Any, **kwargs: Any
) -> str:
    here = page.file.src_uri
    listing = ""
    if pages.MARKER.search(markdown):

        def read(path: str) -> str:
            return str(files.get_file_from_path(path).content_string)

        listing = pages.table(config["nav"], here, read)
    skipped = front_matter_lines(page.file.content_string)
    return prepare(markdown, here, config["site_url"], listing, skipped)
