"""The home page's list of every page, read from the nav and from each
page's ``description`` (its front matter, which Material also puts in the
page's ``<meta name="description">``).

The nav is the one place that orders the pages; this list follows it, so a
page added to the nav is on the home page too, and a page without a
description stops the build.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from typing import Any

from mkdocs.utils.meta import get_data

MARKER = re.compile(r"^<!-- pages -->$", re.MULTILINE)
HEADING = re.compile(r"^# (.+)$", re.MULTILINE)

Read = Callable[[str], str]  # a page's source, by its path in docs/


def sections(nav: list[Any]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Each top-level section of ``nav`` with its pages as (title, path);
    a page at the top level is a section of its own, without a heading."""
    for item in nav:
        if isinstance(item, str):
            yield "", [("", item)]
            continue
        ((title, value),) = item.items()
        if isinstance(value, str):
            yield "", [(title, value)]
        else:
            yield title, list(_pages(value))


def _pages(items: list[Any]) -> Iterator[tuple[str, str]]:
    for item in items:
        if isinstance(item, str):
            yield "", item
            continue
        ((title, value),) = item.items()
        if isinstance(value, str):
            yield title, value
        else:
            yield from _pages(value)


def describe(path: str, read: Read) -> tuple[str, str]:
    """The first heading and the ``description`` of the page at ``path``."""
    body, meta = get_data(read(path))
    description = meta.get("description")
    if not description:
        raise ValueError(f"{path} has no description in its front matter")
    heading = HEADING.search(body)
    return (heading[1] if heading else path), str(description)


def table(nav: list[Any], here: str, read: Read) -> str:
    """Markdown listing every page of ``nav`` but ``here``, by section."""
    out: list[str] = []
    base = posixpath.dirname(here)
    for section, pages in sections(nav):
        rows = []
        for title, path in pages:
            if path == here:
                continue
            heading, description = describe(path, read)
            link = posixpath.relpath(path, base or ".")
            rows.append(f"| [{title or heading}]({link}) | {description} |")
        if not rows:
            continue
        if section:
            out.append(f"### {section}\n")
        out += ["| Page | What it answers |", "| --- | --- |", *rows, ""]
    return "\n".join(out).rstrip("\n")
