"""The build hook: every page passes through :func:`prepare` before MkDocs
converts it.

It does four things, in this order, and nothing else rewrites a page:

1. gives every fenced block the line it was written on (``fences.py``), so
   the tests can find the fence each block of the built HTML came from;
2. replaces each marker with what it stands for: a table or the example
   deliveries (``tables.py``), a diagram (``diagrams.py``), or the box that
   offers a page's complete program for download
   (``<!-- download:create_webhook.py -->``);
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
from pathlib import Path
from typing import Any

# MkDocs loads a hook by its file path. Put the repository root on the path so
# the hook imports its helpers as ``docs._hooks.*``, as the tests do.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from docs._hooks import diagrams, fences, programs, tables  # noqa: E402
from docs._hooks.settings_hook import substitute  # noqa: E402

DOWNLOAD = re.compile(r"^<!-- download:(?P<name>[\w.-]+) -->$", re.MULTILINE)


def page_url(site_url: str, page: str) -> str:
    """Where ``page`` (e.g. ``create-webhook.md``) is published."""
    stem = page.removesuffix(".md")
    path = "" if stem == "index" else stem.removesuffix("/index") + "/"
    return site_url.rstrip("/") + "/" + path


def _size(length: int) -> str:
    return f"{length / 1024:.1f} KB" if length >= 1024 else f"{length} bytes"


def download_box(name: str, page: str, site_url: str) -> str:
    """The box under a page's blocks that offers their whole program."""
    program = programs.program(name)
    if program.page != page:
        raise ValueError(f"{page}: {name} belongs to {program.page}")
    text = programs.compose(
        program, programs.version(), page_url(site_url, program.page)
    )
    here = posixpath.dirname(page)
    link = posixpath.relpath(f"{programs.DOWNLOADS}/{name}", here or ".")
    zipped = posixpath.relpath(
        f"{programs.DOWNLOADS}/{programs.ARCHIVE}", here or "."
    )
    needed = programs.needed_requirements(program, text)
    lines = [
        f'!!! example "The complete program: `{name}`"',
        "",
        f'    [Download `{name}`]({link}){{ download="{name}" }}'
        f" ({_size(len(text.encode()))}) or [read it]({link}) in your"
        f" browser; [all the examples]({zipped}) come as one zip.",
    ]
    if not needed:
        return "\n".join(
            [*lines, "    It needs Python 3.11 or newer, nothing else."]
        )
    install = " ".join(f'"{line}"' for line in needed)
    return "\n".join(
        [
            *lines,
            "    It runs on its own with Python 3.11 or newer, after this"
            " install:",
            "",
            "    ```bash",
            f"    python -m pip install {install}",
            "    ```",
        ]
    )


def _expand(markdown: str, page: str, site_url: str) -> str:
    """``markdown`` with every marker replaced, its fences numbered
    ``<marker line>+<n>``."""

    def generated(match: re.Match[str], text: str) -> str:
        line = markdown.count("\n", 0, match.start()) + 1
        return fences.number_fences(text, suffix=str(line))

    def marker(match: re.Match[str]) -> str:
        return generated(match, tables.expand(match))

    def download(match: re.Match[str]) -> str:
        return generated(match, download_box(match["name"], page, site_url))

    expanded = DOWNLOAD.sub(download, tables.MARKER.sub(marker, markdown))
    return diagrams.MARKER.sub(diagrams.expand, expanded)


def _with_imports(markdown: str) -> str:
    """``markdown`` with the imports each Python block of named sections
    uses written in front of its sections, computed from the modules the
    sections come from (``programs.block_imports``)."""
    lines = markdown.split("\n")
    for fence in reversed(fences.fences(markdown)):
        refs = programs.section_refs(fence.body)
        if fence.lang != "python" or refs is None:
            continue
        if 'title="snippets/' in fence.info:
            continue  # a page not yet split into programs: its own imports
        imports = programs.block_imports(refs).split("\n")[:-1]
        lines[fence.line : fence.line] = [
            f"{fence.indent}{line}".rstrip() for line in imports
        ]
    return "\n".join(lines)


def prepare(markdown: str, page: str, site_url: str) -> str:
    """The Markdown of ``page`` as MkDocs converts it."""
    numbered = fences.number_fences(markdown)
    expanded = _with_imports(_expand(numbered, page, site_url))
    return substitute(expanded, page)


def on_page_markdown(
    markdown: str, page: Any, config: Any, **kwargs: Any
) -> str:
    return prepare(markdown, page.file.src_uri, config["site_url"])
