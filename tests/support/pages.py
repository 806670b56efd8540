"""Read the examples a page shows, so tests can hold them to the fake and the
schemas.

``json_blocks`` returns every ``{ .json data-schema="..." }`` block of a page's
Markdown, parsed, with its schema name and the heading it sits under, after the
``{{ placeholder }}`` values are filled in the way the docs build fills them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from docs._hooks.settings_hook import substitute
from tests.support import blocks

SCHEMA = re.compile(r'data-schema="([a-z_]+)"')
HEADING = re.compile(r"^#{1,6} (.+)$")


@dataclass
class JsonBlock:
    schema: str
    data: Any
    heading: str


def page_source(page: str) -> str:
    """The Markdown of ``docs/<page>`` with its placeholders filled."""
    return substitute(blocks.page_markdown(page), page)


def json_blocks(page: str) -> list[JsonBlock]:
    lines = page_source(page).splitlines()
    found = []
    for fence in blocks.fences("\n".join(lines)):
        schema = SCHEMA.search(fence.info)
        if fence.lang != "json" or schema is None:
            continue
        headings = [m[1] for m in map(HEADING.match, lines[: fence.line]) if m]
        found.append(
            JsonBlock(schema[1], json.loads(fence.body), headings[-1].strip())
        )
    return found


def built_page(site: Path, page: str) -> BeautifulSoup:
    """The built HTML of ``docs/<page>``."""
    return BeautifulSoup(
        (site / blocks.html_path(page)).read_text(), "html.parser"
    )


def tab_labels(soup: BeautifulSoup) -> list[list[str]]:
    """The labels of each content-tab set on a built page, in order."""
    return [
        [
            label.get_text(strip=True)
            for label in tabs.select(".tabbed-labels label")
        ]
        for tabs in soup.select(".tabbed-set")
    ]
