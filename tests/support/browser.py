"""Helpers for the tests that drive the built site in Chromium.

``tests/browser/conftest.py`` makes the fixtures from them: ``site``,
``chromium_path`` and ``browser_type_launch_args`` (which points
pytest-playwright's ``browser`` at the system's Chromium).

The built site is served over HTTP on 127.0.0.1 under the same path as in
production (the path of ``site_url``), with the site's own 404 page for unknown
addresses, as GitHub Pages does. The browser sends nothing beyond 127.0.0.1
(:data:`NO_NETWORK`), and every context made by :func:`open_context` records
each request that tried to.

Chromium is found through ``CHROMIUM_PATH``, then ``/usr/bin/chromium``, then
``PATH``. Without it the browser tests skip, except under CI (``CI`` set),
where they fail.
"""

from __future__ import annotations

import functools
import gzip
import os
import shutil
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
)

from tests.support.paths import DOCS
from tests.support.servers import POLL
from tests.support.site import source_pages

PALETTES = {
    "light": "default",
    "dark": "slate",
}  # media scheme -> Material scheme
INSTALL_HINT = (
    "install Chromium (Debian: apt-get install chromium) or set CHROMIUM_PATH"
)


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable to drive, or None."""
    candidates = [os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium"]
    candidates += [
        shutil.which(n) for n in ("chromium", "chromium-browser", "chrome")
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def require_chromium() -> str:
    """The browser to drive; skips the test without one, or fails it under
    CI."""
    path = find_chromium()
    if path is None:
        message = f"no Chromium found: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


# --------------------------------------------------------------------- server
class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves ``directory`` under ``prefix``; anything else gets the site's 404
    page."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        path = urlsplit(path).path
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "-outside-the-site-")
        return super().translate_path("/" + path[len(self.prefix) :])

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output quiet


COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".txt", ".xml"}


class _GzipSiteHandler(_SiteHandler):
    """Like :class:`_SiteHandler`, but text goes out gzip-compressed to a
    client that accepts it, as static hosts (GitHub Pages) send it."""

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts and path.suffix in COMPRESSED and path.is_file()):
            super().do_GET()
            return
        body = gzip.compress(path.read_bytes())
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _SiteServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that drops a request it no longer needs (a page left
        while its files still load) is no error: a static host shrugs it off.
        Anything else is printed with its stack, as the base class does."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass
class Site:
    """The built site as served: its base URL and the pages its sitemap
    lists."""

    root: Path
    base: str  # e.g. http://127.0.0.1:PORT/shipping-webhooks-docs/
    pages: list[str]  # absolute local URLs, home page first

    def url(self, path: str = "") -> str:
        return self.base + path.lstrip("/")

    def name(self, url: str) -> str:
        """A page's path below the site root ("" for the home page)."""
        return url.removeprefix(self.base)


def sitemap_paths(site_dir: Path) -> tuple[str, list[str]]:
    """The published site URL and every page path below it, from
    sitemap.xml."""
    tree = ET.parse(site_dir / "sitemap.xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [
        loc.text or "" for loc in tree.getroot().iterfind("s:url/s:loc", ns)
    ]
    assert locs, "the sitemap lists no pages"
    home = min(locs, key=len)  # the home page's address is the site URL
    assert all(loc.startswith(home) for loc in locs), locs
    return home, [loc.removeprefix(home) for loc in locs]


@contextmanager
def serve_site(site_dir: Path, *, compress: bool = False) -> Iterator[Site]:
    """Serve a built site on 127.0.0.1 at its production path until the block
    ends; with ``compress``, text is sent gzip-compressed."""
    site_url, paths = sitemap_paths(site_dir)
    prefix = urlsplit(site_url).path or "/"
    base = _GzipSiteHandler if compress else _SiteHandler
    handler = type("Handler", (base,), {"prefix": prefix})
    server = _SiteServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site_dir))
    )
    thread = threading.Thread(
        target=server.serve_forever, args=(POLL,), daemon=True
    )  # shutdown() waits up to one poll: 0.5 s by default
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}{prefix}"
    pages = sorted({base + p for p in paths}, key=lambda u: (u != base, u))
    try:
        yield Site(root=site_dir, base=base, pages=pages)
    finally:
        server.shutdown()
        server.server_close()


# -------------------------------------------------------------------- browser
@dataclass
class Watch:
    """What a browser context did that a reader would not want."""

    offsite: list[str] = field(
        default_factory=list
    )  # requests leaving 127.0.0.1
    errors: list[str] = field(
        default_factory=list
    )  # console errors, page errors

    def clear(self) -> None:
        self.offsite.clear()
        self.errors.clear()


def _leaves(url: str) -> bool:
    """Whether a request for ``url`` would leave 127.0.0.1."""
    return not (
        urlsplit(url).hostname == "127.0.0.1"
        or url.startswith(("data:", "blob:"))
    )


# What keeps the browser on 127.0.0.1: every other address goes through a
# proxy that is not there (a port nothing listens on), so the request fails
# at once. (Playwright would send 127.0.0.1 through the proxy too, unless
# told to bypass it.)
NO_NETWORK = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1"}


def open_context(
    browser: Browser, palette: str = "light", **options: object
) -> tuple[BrowserContext, Watch]:
    """A fresh context in the ``light`` or ``dark`` system palette, watched:
    requests that would leave 127.0.0.1 (blocked by :data:`NO_NETWORK`),
    console errors and page errors are recorded in the :class:`Watch`.

    The context only listens to requests: intercepting each one (``route``)
    cost a round trip to this process per file of every page load, about a
    tenth of the browser tests' processor time.
    """
    context = browser.new_context(color_scheme=palette, **options)
    context.set_default_timeout(10_000)
    watch = Watch()

    def on_request(request: Request) -> None:
        if _leaves(request.url):
            watch.offsite.append(request.url)

    context.on("request", on_request)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watch.errors.append(
                f"console: {message.text} ({message.location})"
            )

    def on_page(page: Page) -> None:
        page.on("console", on_console)
        page.on(
            "pageerror", lambda error: watch.errors.append(f"page: {error}")
        )

    context.on("page", on_page)
    return context, watch


# True once the theme's scripts have run: its bundle sets these globals, and
# the loader then replays the DOMContentLoaded the theme starts on.
THEME_STARTED = "() => window.component$ !== undefined"


def visit(
    page: Page, url: str, *, settle: bool = False, wake: bool = True
) -> int:
    """Load ``url``; the HTTP status.

    The theme's scripts wait for a reader's first interaction
    (``docs/_overrides/main.html``); with ``wake`` (the default) a key press
    starts them and this returns once they have run. With ``settle``, also
    wait until the network has been idle for a moment, so late requests (the
    search index, the search worker) are seen too.
    """
    response = page.goto(url, wait_until="load")
    if wake:
        page.keyboard.press("Shift")  # a key that does nothing else
        page.wait_for_function(THEME_STARTED)
    if settle:
        page.wait_for_load_state("networkidle")
    return response.status if response else 0


def scheme(page: Page) -> str:
    """The Material colour scheme the page shows ("default" or "slate")."""
    return page.eval_on_selector("body", "b => b.dataset.mdColorScheme")


# ------------------------------------------------------------------- sources
def source_page(site: Site, url: str) -> Path | None:
    """The Markdown file a served page was built from (None if generated)."""
    name = site.name(url).removesuffix("/")
    candidates = [f"{name}.md", f"{name}/index.md"] if name else ["index.md"]
    return next(
        (DOCS / c for c in candidates if c in source_pages()),
        None,
    )
