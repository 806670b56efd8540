"""Fixtures for the tests that drive the built site in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import (
    NO_NETWORK,
    Site,
    require_chromium,
    serve_site,
)


@pytest.fixture(scope="session", name="chromium_path")
def chromium_path_fixture() -> str:
    return require_chromium()


@pytest.fixture(scope="session", name="browser_type_launch_args")
def launch_args_fixture(
    browser_type_launch_args: dict, chromium_path: str
) -> dict:
    """pytest-playwright's launch arguments, pointed at the system's
    Chromium, which reaches nothing beyond 127.0.0.1."""
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path,
        "proxy": NO_NETWORK,
    }


@pytest.fixture(scope="session", name="site")
def site_fixture(built_site: Path) -> Iterator[Site]:
    """The built site served on 127.0.0.1 at its production path."""
    with serve_site(built_site) as site:
        yield site
