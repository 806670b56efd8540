"""The reader-first budgets that need no browser (tests/support/budgets.py):
short blocks, few repeated lines, no line wider than the page, light pages.
``make bench`` prints the same figures per page, with Lighthouse's."""

from __future__ import annotations

import pytest

from tests.support import budgets
from tests.support.site import nav_pages, pages


@pytest.mark.parametrize("doc", pages())
def test_no_visible_python_block_is_longer_than_the_budget(site, doc):
    runs = budgets.python_runs(site, doc)

    assert max(runs, default=0) <= budgets.LONGEST_BLOCK, (doc, runs)


@pytest.mark.parametrize("doc", pages())
def test_no_code_line_is_wider_than_79_columns(site, doc):
    width, where = budgets.widest_line(site, doc)

    assert width <= budgets.LINE_WIDTH, f"{width} columns at {where}"


@pytest.mark.parametrize("doc", pages())
def test_each_page_s_own_html_is_light(site, doc):
    assert budgets.page_gzip(site, doc) <= budgets.PAGE_GZIP, doc


def test_few_python_lines_repeat_what_a_page_showed_before(site):
    repeated, total = budgets.repeated_lines(site, nav_pages())

    assert total > 300
    assert repeated <= budgets.REPEATED_SHARE * total, (repeated, total)


def test_every_page_is_in_the_navigation():
    assert sorted(nav_pages()) == pages()
