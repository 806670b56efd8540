"""mkdocs-gen-files script: tell the mkdocs-llmstxt plugin what to list.

The plugin writes ``llms.txt`` (every page it is given, with a one-line
description), a Markdown copy of each page beside its HTML, and
``llms-full.txt`` (all the copies in one file). It converts the built HTML,
so code embedded with pymdownx.snippets is expanded and ``{{ }}`` placeholders
are filled.

It wants each page and its description listed by hand in ``mkdocs.yml``;
this script derives them instead, so ``llms.txt`` stays complete as pages are
added, moved or generated: the sections and their order follow the nav, and a
page's description is its front matter ``description`` or else the opening
sentences of its first paragraph. It runs after the scripts that generate
pages, and the plugin must come after gen-files in ``plugins``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import mkdocs_gen_files
from mkdocs.utils.meta import get_data

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # mkdocs-gen-files runs this file as a script
    sys.path.insert(0, str(ROOT))

from docs._hooks.pages import sections as nav_sections  # noqa: E402
from docs._hooks.settings_hook import substitute  # noqa: E402

LOOSE_PAGES = "Guides"  # the section of pages the nav lists outside one
SHORTEST = 60  # characters a description grows to, sentence by sentence
LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
EMPHASIS = re.compile(r"(\*\*|\*|__)(\S(?:.*?\S)?)\1")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\[*])")


def description(markdown: str, where: str) -> str:
    """What a page is about, in a line."""
    body, meta = get_data(markdown)
    if meta.get("description"):
        return str(meta["description"])
    paragraph: list[str] = []
    for line in body.splitlines():
        text = line.strip()
        if not text:
            if paragraph:
                break
            continue
        if re.match(
            r"(#|\||```|~~~|<|!!!|\?\?\?|===|--8<--|- |\* |\d+\. )", text
        ):
            if paragraph:
                break
            continue
        paragraph.append(text)
    if not paragraph:
        raise ValueError(f"{where}: no paragraph to describe it by")
    prose = EMPHASIS.sub(r"\2", LINK.sub(r"\1", " ".join(paragraph)))
    prose = substitute(prose, where)
    kept = ""
    for sentence in SENTENCE_END.split(prose):
        kept = f"{kept} {sentence}".strip()
        if len(kept) >= SHORTEST:
            break
    return re.sub(r":$", ".", kept)  # a paragraph that leads into a list


def sections(nav: list[Any], files: dict[str, Any]) -> dict[str, list]:
    """``{section title: [{page: description}, ...]}`` in nav order."""
    found: dict[str, list] = {}
    for title, listed in nav_sections(nav):
        found.setdefault(title or LOOSE_PAGES, []).extend(
            {path: description(files[path].content_string, path)}
            for _, path in listed
            if path in files
        )
    return found


def configure() -> None:
    config = mkdocs_gen_files.config
    files = {
        f.src_uri: f
        for f in mkdocs_gen_files.files
        if f.is_documentation_page()
    }
    config.plugins["llmstxt"].config["sections"] = sections(config.nav, files)


if __name__ == "<run_path>":  # how mkdocs-gen-files runs its scripts
    configure()
