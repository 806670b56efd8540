"""Every code block on every page, proven: one test item per block.

The items are collected from the Markdown as the build prepares it, one per
fence, named ``page:line``; each finds its block in the built HTML by that
line (``data-src-line``) and runs the check of its kind
(``tests/support/checks.py``). A block no check claims fails.
"""

from __future__ import annotations

import pytest

from tests.support import checks
from tests.support.site import page_fences, pages

FENCES = [(page, line) for page in pages() for line in page_fences(page)]


@pytest.mark.parametrize(
    ("doc", "line"), FENCES, ids=[f"{p}:{ln}" for p, ln in FENCES]
)
def test_block(checked_page, site, doc, line):
    block = site.block(doc, line)
    assert block is not None, f"{doc}:{line} has no block in the built page"

    problems = checks.block_problems(block, checked_page(doc))

    assert not problems, f"{block}:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", pages())
def test_every_block_has_its_fence_and_every_fence_its_block(site, doc):
    built = [block.line for block in site.blocks(doc)]

    assert "" not in built, f"{doc}: a block the build did not number"
    assert sorted(built) == sorted(page_fences(doc)), doc


@pytest.mark.parametrize("doc", pages())
def test_python_and_curl_sit_in_tabs_labelled_python_and_curl(site, doc):
    """Linked tabs switch together only when their labels match exactly."""
    for block in site.blocks(doc):
        if block.tab is None or "curl" not in block.tabs:
            continue
        if block.lang == "python":
            assert block.tab == "Python", f"{block} sits in tab {block.tab!r}"
        elif checks.kind(block) == "shell" and "curl" in block.code:
            assert block.tab == "curl", f"{block} sits in tab {block.tab!r}"


def test_there_are_blocks_of_every_kind(site):
    kinds = {
        checks.kind(block) for page in pages() for block in site.blocks(page)
    }
    assert {"python", "json", "shell", "http", "transcript", "sql"} <= kinds
