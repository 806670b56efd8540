"""A disk cache for the slow steps of a build that rarely need redoing:
mkdocs-llmstxt's conversion of each page's HTML to Markdown, the glossary's
pass over each page's HTML, and the composition of the downloadable programs
(keyed on the sources they are made of; ``programs.compose``).

The plugin parses every page with BeautifulSoup, converts it with
markdownify and formats the result with mdformat: 40% of a build, done again
for every page on every build although most pages did not change. The plugin
has no cache of its own, so this wraps its conversion function with one
keyed on everything the result depends on (the HTML, the options, the page's
address and the plugin's version). Hand-written because no plugin offers
this; it is small and falls back to the plain conversion if the plugin ever
renames what it wraps. The glossary pass (``glossary.py``) keys its
result on the page's HTML and its own source.

The cache lives in ``.cache/build/`` (ignored by git), or in the folder
``DOCS_BUILD_CACHE`` names (the drift check points its copies at the
repository's). Entries unused for a week are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEEP = 7 * 24 * 3600  # seconds an unused entry stays


def folder(namespace: str) -> Path:
    configured = os.environ.get("DOCS_BUILD_CACHE")
    base = Path(configured) if configured else ROOT / ".cache" / "build"
    return base / namespace


def _prune(where: Path) -> None:
    cutoff = time.time() - KEEP
    for entry in where.glob("*.txt"):
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime < cutoff:
                entry.unlink()


def _write(target: Path, text: str) -> None:
    """Write whole or not at all: two builds may share the cache."""
    handle, name = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf8") as out:
        out.write(text)
    os.replace(name, target)


def remember(
    namespace: str, key: list[object], compute: Callable[[], str]
) -> str:
    """What ``compute()`` returns, from the cache when ``key`` (everything
    the result depends on, JSON-serialisable) was seen before."""
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()
    where = folder(namespace)
    entry = where / f"{digest}.txt"
    with contextlib.suppress(OSError):
        text = entry.read_text(encoding="utf8")
        entry.touch()  # in use: kept by the pruning
        return text
    text = compute()
    with contextlib.suppress(OSError):
        where.mkdir(parents=True, exist_ok=True)
        _write(entry, text)
    return text


def source_tag(*modules: object) -> str:
    """A key part that changes whenever one of ``modules`` is edited."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


def _cached_conversion(
    convert: Callable[..., str], tag: str
) -> Callable[..., str]:
    """The plugin's page conversion, remembered on disk."""

    def convert_once(
        html: str,
        *,
        should_autoclean: bool,
        preprocess: str | None,
        path: str,
        base_uri: str,
        page_uri: str,
    ) -> str:
        def compute() -> str:
            return convert(
                html,
                should_autoclean=should_autoclean,
                preprocess=preprocess,
                path=path,
                base_uri=base_uri,
                page_uri=page_uri,
            )

        if preprocess:  # a module of the reader's: its code is not keyed
            return compute()
        key = [tag, html, should_autoclean, base_uri, page_uri]
        return remember("llmstxt", key, compute)

    convert_once.memo = True  # type: ignore[attr-defined]
    return convert_once


def install() -> None:
    """Wrap the plugin's conversion (once per process); prune the cache."""
    base = folder("")
    with contextlib.suppress(OSError):
        for where in base.iterdir():
            _prune(where)
    try:
        from mkdocs_llmstxt._internal import plugin
    except ImportError:  # not installed: nothing to speed up
        return
    convert = getattr(plugin, "_generate_page_markdown", None)
    if convert is None or getattr(convert, "memo", False):
        return
    tag = f"mkdocs-llmstxt {version('mkdocs-llmstxt')}"
    plugin._generate_page_markdown = _cached_conversion(convert, tag)
