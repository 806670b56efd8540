"""The reader-first budgets, measured on the built site.

The deterministic ones are tests (``tests/site/test_budgets.py``); ``make
bench`` prints them per page with the measures that need a browser.

* The longest Python block a reader sees when a page opens (blocks with no
  prose between them count as one; a block in a closed ``??? example`` or in
  a content tab that is not shown first is not seen).
* The share of visible Python lines, imports and blank lines aside, that
  repeat a line shown earlier on the site.
* The longest line of any code block.
* Each page's own HTML, gzip.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from tests.support.site import (
    Block,
    BuiltSite,
    html_path,
    raw_markdown,
    written_fences,
)

LONGEST_BLOCK = 40  # lines
REPEATED_SHARE = 0.10
LINE_WIDTH = 79
PAGE_GZIP = 15 * 1024  # bytes


def visible(block: Block) -> bool:
    """Shown when the page opens: not collapsed, not in a later tab."""
    return not block.collapsed and (
        block.tab is None or block.tab == block.tabs[0]
    )


def _joined(page: str, first: Block, second: Block) -> bool:
    """Whether nothing but blank lines stands between two fences."""
    fences = written_fences(page)
    try:
        a, b = fences[int(first.line)], fences[int(second.line)]
    except (KeyError, ValueError):
        return False
    between = raw_markdown(page).split("\n")[a.end : b.line - 1]
    return all(not line.strip() for line in between)


def python_runs(site: BuiltSite, page: str) -> list[int]:
    """The line counts of the visible Python blocks, consecutive ones joined."""
    runs: list[int] = []
    previous: Block | None = None
    for block in site.blocks(page):
        if block.lang != "python" or not visible(block):
            previous = None
            continue
        lines = len(block.code.strip("\n").split("\n"))
        if previous is not None and _joined(page, previous, block):
            runs[-1] += lines
        else:
            runs.append(lines)
        previous = block
    return runs


def _is_import(line: str) -> bool:
    return line.startswith(("import ", "from ")) or line.strip() in ("", ")")


def repeated_lines(site: BuiltSite, pages: list[str]) -> tuple[int, int]:
    """(repeated, total) visible Python lines, imports and blanks aside."""
    seen: set[str] = set()
    repeated = total = 0
    in_import = False
    for page in pages:
        for block in site.blocks(page):
            if block.lang != "python" or not visible(block):
                continue
            for line in block.code.split("\n"):
                in_import = (in_import and line.startswith("    ")) or (
                    line.startswith("from ") and line.endswith("(")
                )
                if _is_import(line) or in_import or not line.strip():
                    continue
                total += 1
                key = line.strip()
                repeated += key in seen
                seen.add(key)
    return repeated, total


def widest_line(site: BuiltSite, page: str) -> tuple[int, str]:
    """The longest code line of the page, and where it is."""
    widest = (0, "")
    for block in site.blocks(page):
        for line in block.code.split("\n"):
            if len(line) > widest[0]:
                widest = (len(line), f"{block}: {line.strip()[:60]}")
    return widest


def page_gzip(site: BuiltSite, page: str) -> int:
    html = (site.root / html_path(page)).read_bytes()
    return len(gzip.compress(html, compresslevel=9))


@dataclass
class PageFigures:
    page: str
    longest_block: int
    widest_line: int
    html_gzip: int


def page_figures(site: BuiltSite, page: str) -> PageFigures:
    return PageFigures(
        page,
        max(python_runs(site, page), default=0),
        widest_line(site, page)[0],
        page_gzip(site, page),
    )
