"""Fixtures for the tests of the built site: the site, and each page's blocks
with their replay, made once per test session and page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import checks, replay
from tests.support.site import BuiltSite


@pytest.fixture(scope="session")
def site(built_site: Path) -> BuiltSite:
    return BuiltSite(built_site)


@pytest.fixture(scope="session")
def checked_page(site: BuiltSite) -> Callable[[str], checks.Page]:
    """A page with its curl blocks replayed (once, on first use)."""
    pages: dict[str, checks.Page] = {}

    def page(name: str) -> checks.Page:
        if name not in pages:
            pages[name] = checks.Page(
                site, name, replay.PageReplay(site, name)
            )
        return pages[name]

    return page
