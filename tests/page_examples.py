"""Read the examples a page shows, so tests can hold them to the fake and the schemas.

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

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(
    r'^(?P<indent> *)``` \{ \.json data-schema="(?P<schema>[a-z_]+)"[^}\n]*\}\n'
    r"(?P<body>.*?)^(?P=indent)```$",
    re.MULTILINE | re.DOTALL,
)
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


@dataclass
class JsonBlock:
    schema: str
    data: Any
    heading: str


def page_source(page: str) -> str:
    """The Markdown of ``docs/<page>`` with its placeholders filled."""
    return substitute((ROOT / "docs" / page).read_text(), page)


def json_blocks(page: str) -> list[JsonBlock]:
    text = page_source(page)
    blocks = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        body = "\n".join(line[indent:] for line in match["body"].splitlines())
        headings = HEADING.findall(text, 0, match.start())
        blocks.append(
            JsonBlock(match["schema"], json.loads(body), headings[-1].strip())
        )
    return blocks


def built_page(site: Path, page: str) -> BeautifulSoup:
    """The built HTML of ``docs/<page>``."""
    html = site / page.removesuffix(".md") / "index.html"
    return BeautifulSoup(html.read_text(), "html.parser")


def tab_labels(soup: BeautifulSoup) -> list[list[str]]:
    """The labels of each content-tab set on a built page, in order."""
    return [
        [label.get_text(strip=True) for label in tabs.select(".tabbed-labels label")]
        for tabs in soup.select(".tabbed-set")
    ]
