"""The site's performance budget, measured in one run: ``python -m
tests.support.benchmark``.

Prints, side by side:

* the median time of ``mkdocs build --strict`` against a bare
  mkdocs-material build of the same pages (same Markdown extensions; none of
  this project's hooks, generated tables, overrides or validation), the
  build's cache warm as on every build after a clone's first; budget: ratio
  1.3 (the first build, its cache empty, is printed too);
* the time of the test suite (``pytest --cov``, as ``make test`` runs it);
* with ``--loop`` (and nothing else): ``make check`` with the venv present
  (target 60 s), ``make test`` on a fresh clone (300 s) and ``bash .ci/run``
  on a fresh clone (600 s);
* each page's first-load weight: the HTML plus every CSS and JS file it
  loads (the search worker included), raw and gzip; budget: 70 KB gzip;
* requests to hosts other than 127.0.0.1; budget: 0;
* Lighthouse (npm ``lighthouse@12.2.3``, installed on first use into
  ``.cache/lighthouse``) for every page, mobile, the median of three runs,
  the site served gzip-compressed as static hosts serve it: performance,
  accessibility, best practices and SEO; goal: 100 (``--pages`` measures
  the pages alone: first load and Lighthouse);
* each receiver under its production command with the load test's load
  (``tests/support/load.py``: 1,200 signed copies of 1,000 deliveries,
  ``kill -9`` of a worker, then of the whole server, halfway): lost,
  doubled, thin repeats processed again, throughput, p50 and p99 latency;
  budget: 0 lost, 0 doubled, 0 against the dedupe rule.
* the durable inbox's throughput, SQLite and PostgreSQL, as deployed (a
  file on disk with ``synchronous = FULL``; a cluster on disk with
  PostgreSQL's default durability): deliveries stored a second by four
  receiver threads, and claimed and marked done a second by four workers.

It is a measurement, not a test: it exits 1 when a budget is missed, so CI
could gate on it, but ``make test`` does not run it. Chromium comes from
``CHROMIUM_PATH`` or ``/usr/bin/chromium``; ``--quick`` skips the suite,
Lighthouse and the receivers; ``--receivers`` measures the receivers alone,
``--inboxes`` the inboxes alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from mkdocs.config import load_config
from playwright.sync_api import Request, sync_playwright

from tests.support import load, postgres
from tests.support.browser import (
    INSTALL_HINT,
    NO_NETWORK,
    find_chromium,
    open_context,
    serve_site,
    visit,
)
from tests.support.fake_api import FakeApi
from tests.support.inboxes import InboxUnderTest, load_deliveries
from tests.support.paths import ROOT
from tests.support.receivers import make_signer
from tests.support.servers import LiveServer

LIGHTHOUSE = "lighthouse@12.2.3"
LIGHTHOUSE_DIR = ROOT / ".cache" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
BUILD_RATIO_BUDGET = 1.3
GZIP_BUDGET = 70 * 1024
WEIGHED = (
    ".html",
    ".css",
    ".js",
    "/",
)  # what a first load weighs: HTML, CSS, JS
ENV = {
    **os.environ,
    "DISABLE_MKDOCS_2_WARNING": "true",
    "NO_MKDOCS_2_WARNING": "1",
}


# ---------------------------------------------------------------------- build
def _build_seconds(
    config: Path, site_dir: Path, strict: bool, cache: Path | None = None
) -> float:
    """One build's seconds; with ``cache``, the build's cache
    (``docs/_hooks/memo.py``) is that folder instead of the repository's."""
    env = {**ENV, "DOCS_BUILD_CACHE": str(cache)} if cache else ENV
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "-q",
        "-f",
        str(config),
    ]
    command += ["-d", str(site_dir)] + (["--strict"] if strict else [])
    start = time.perf_counter()
    subprocess.run(command, cwd=config.parent, env=env, check=True)
    return time.perf_counter() - start


def _plain(value: object) -> object:
    """A config value as YAML can write it (``!relative`` paths become
    strings)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def bare_project(into: Path) -> Path:
    """The same pages under a bare mkdocs-material config.

    The bare build keeps what makes the pages render the same (the Markdown
    extensions, snippets included) and drops what this project adds: the build
    hooks (placeholders), generated tables, theme overrides, extra CSS, link
    validation and strict mode.
    """
    ours = load_config(str(ROOT / "mkdocs.yml"))
    extensions = [
        {name: _plain(ours["mdx_configs"][name])}
        if name in ours["mdx_configs"]
        else name
        for name in ours["markdown_extensions"]
    ]
    config_text = yaml.safe_dump(
        {
            "site_name": "Bare build",
            "docs_dir": "docs",
            "theme": {"name": "material"},
            "markdown_extensions": extensions,
        }
    )
    docs = into / "docs"
    for page in (ROOT / "docs").rglob("*.md"):
        relative = page.relative_to(ROOT / "docs")
        if relative.parts[0] in ("_hooks", "_overrides"):
            continue
        (docs / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, docs / relative)
    config = into / "mkdocs.yml"
    config.write_text(config_text)
    return config


def cold_build(work: Path) -> float:
    """Seconds of one strict build with an empty build cache, as on a fresh
    clone."""
    return _build_seconds(
        ROOT / "mkdocs.yml", work / "site-cold", True, work / "empty-cache"
    )


def build_times(runs: int, work: Path) -> tuple[float, float]:
    """Median seconds of the strict build (its cache warm, as on every
    build but a clone's first) and of the bare build, alternated."""
    config = bare_project(work / "bare")
    _build_seconds(ROOT / "mkdocs.yml", work / "site-ours", True)  # warm up
    ours, bare = [], []
    for _ in range(runs):
        ours.append(
            _build_seconds(ROOT / "mkdocs.yml", work / "site-ours", True)
        )
        bare.append(_build_seconds(config, work / "site-bare", False))
    return statistics.median(ours), statistics.median(bare)


# ---------------------------------------------------------------------- suite
def suite_time(work: Path) -> tuple[float, str]:
    """Seconds the test suite takes, and its last line (how many passed)."""
    env = {**ENV, "COVERAGE_FILE": str(work / ".coverage")}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--cov",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return elapsed, lines[-1] if lines else f"exit status {result.returncode}"


# ----------------------------------------------------------------------- loop
# The contributor's loop and CI, with their time targets (seconds).
LOOP_BUDGETS = {
    "make check (the venv present)": 60,
    "make test (a fresh clone)": 300,
    "bash .ci/run (a fresh clone)": 600,
}


def _timed(command: list[str], cwd: Path) -> tuple[float, str]:
    """Seconds ``command`` takes in ``cwd``, and how it ended (pytest's last
    line, or the exit status)."""
    env = {k: v for k, v in ENV.items() if not k.startswith("YOURSTORE")}
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    summaries = [
        line.strip("= ")
        for line in result.stdout.splitlines()
        if " passed" in line or " failed" in line or "changes," in line
    ]
    ending = "; ".join(summaries[-3:]) or "no summary"
    if result.returncode:
        ending += f"; exit status {result.returncode}"
    return elapsed, ending


def _clone(into: Path) -> Path:
    """A fresh clone of the repository's HEAD (nothing ignored comes along:
    no .venv, no caches)."""
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(into)],
        check=True,
    )
    return into


def loop_times(work: Path) -> dict[str, tuple[float, str]]:
    """The three loop figures. The clones reuse the machine's uv download
    cache and its Debian packages, as a second clone on a contributor's
    machine would: what is timed is the project's own setup and tests."""
    return {
        "make check (the venv present)": _timed(["make", "check"], ROOT),
        "make test (a fresh clone)": _timed(
            ["make", "test"], _clone(work / "clone-test")
        ),
        "bash .ci/run (a fresh clone)": _timed(
            ["bash", ".ci/run"], _clone(work / "clone-ci")
        ),
    }


def print_loop_times(figures: dict[str, tuple[float, str]]) -> list[str]:
    """Print each loop figure against its target; return what missed."""
    missed = []
    print("\nThe loop (2 cores; nothing skipped)")
    for name, (seconds, ending) in figures.items():
        budget = LOOP_BUDGETS[name]
        print(f"  {name:<31} {seconds:6.0f} s (target {budget} s): {ending}")
        if seconds > budget or "exit status" in ending:
            missed.append(f"{name}: {seconds:.0f} s")
    return missed


# ---------------------------------------------------------------------- weight
@dataclass
class Weight:
    page: str
    raw: int = 0
    gzipped: int = 0
    files: int = 0
    gzip_by_kind: dict[str, int] = field(default_factory=dict)  # html, css, js
    offsite: list[str] = field(default_factory=list)


def _kind(url: str) -> str:
    path = urlsplit(url).path
    if path.endswith(".css"):
        return "css"
    if "/workers/" in path:
        return "worker"  # the search worker, started by the theme's script
    return "js" if path.endswith(".js") else "html"


def page_weights(chromium: str, pages: list[str], base: str) -> list[Weight]:
    """What a first visit to each page downloads, in a fresh browser
    context, once the reader has made a first move."""
    weights = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, proxy=NO_NETWORK
        )
        for url in pages:
            weight = Weight(page=url.removeprefix(base) or "(home)")
            # Watched as the browser tests watch a page: what it asks of
            # other hosts is recorded (and never sent).
            context, watch = open_context(browser, "light")
            bodies: dict[str, bytes] = {}

            def record(
                request: Request, bodies: dict[str, bytes] = bodies
            ) -> None:
                response = request.response()
                path = urlsplit(request.url).path
                if response and response.ok and path.endswith(WEIGHED):
                    bodies[request.url] = response.body()

            context.on("requestfinished", record)
            page = context.new_page()
            # The theme's scripts and the search worker count too: they
            # load on the reader's first interaction, which visit() makes.
            visit(page, url, settle=True)
            context.close()
            weight.offsite = list(watch.offsite)
            weight.files = len(bodies)
            weight.raw = sum(len(b) for b in bodies.values())
            for url, body in bodies.items():
                size = len(gzip.compress(body, 9))
                kind = _kind(url)
                weight.gzip_by_kind[kind] = (
                    weight.gzip_by_kind.get(kind, 0) + size
                )
            weight.gzipped = sum(weight.gzip_by_kind.values())
            weights.append(weight)
        browser.close()
    return weights


# ------------------------------------------------------------------ lighthouse
def lighthouse_cli() -> Path:
    """The Lighthouse CLI, installed with npm into the ignored cache on first
    use."""
    cli = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.is_file():
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit(
                "Lighthouse needs Node.js and npm (apt-get install npm)"
            )
        subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                LIGHTHOUSE,
            ],
            cwd=LIGHTHOUSE_DIR,
            check=True,
        )
    return cli


def lighthouse_scores(chromium: str, url: str, work: Path) -> dict[str, int]:
    """Lighthouse's mobile scores (0-100) for ``url``."""
    report = work / "lighthouse.json"
    report.unlink(missing_ok=True)
    command = [
        shutil.which("node") or "node",
        str(lighthouse_cli()),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    env = {**ENV, "CHROME_PATH": chromium}
    print(f"  lighthouse {url}", file=sys.stderr, flush=True)
    result = subprocess.run(command, env=env, check=False, capture_output=True)
    if result.returncode != 0 or not report.is_file():
        print(result.stderr.decode()[-2000:], file=sys.stderr)
        return dict.fromkeys(CATEGORIES, 0)
    categories = json.loads(report.read_text())["categories"]
    return {
        name: round((categories[name]["score"] or 0) * 100)
        for name in CATEGORIES
    }


LIGHTHOUSE_RUNS = 3


def median_scores(chromium: str, url: str, work: Path) -> dict[str, int]:
    """Each category's median score over ``LIGHTHOUSE_RUNS`` runs."""
    runs = [
        lighthouse_scores(chromium, url, work) for _ in range(LIGHTHOUSE_RUNS)
    ]
    return {
        name: int(statistics.median(run[name] for run in runs))
        for name in CATEGORIES
    }


# ------------------------------------------------------------------ receivers
def receiver_figures(work: Path) -> list[load.Figures]:
    """The load test's load against each receiver, once per kind of kill."""
    site = work / "site-ours"
    if not site.exists():  # the receivers run from their downloads
        _build_seconds(ROOT / "mkdocs.yml", site, True)
    signer = make_signer(work / "keys")
    fake = FakeApi()
    fake.jwks = json.loads(signer.jwks_path.read_text())
    figures = []
    with LiveServer(fake.wsgi_app) as keys:
        for kind in ("flask", "fastapi"):
            for kill in load.KILLS:
                directory = work / f"load-{kind}-{kill}"
                directory.mkdir()
                figures.append(
                    load.run(
                        kind, kill, directory, keys.url, signer, site,
                    )
                )  # fmt: skip
    return figures


def print_receivers(figures: list[load.Figures]) -> list[str]:
    """Print the receivers' figures; return what missed the budget."""
    first = figures[0]
    print(
        f"\nReceivers under load ({first.copies} signed copies of "
        f"{first.deliveries} deliveries, {load.CONNECTIONS} connections, "
        "kill -9 halfway)"
    )
    print(
        "  receiver  kill     lost  doubled  thin again/repeats  against rule"
        "  requests  failed   per s  p50 ms  p99 ms"
    )
    missed = []
    for f in figures:
        failed = f.statuses.get("failed", 0)
        print(
            f"  {f.receiver:<8}  {f.kill:<7}  {f.lost:>4}  {f.doubled:>7}"
            f"  {f.thin_again:>10}/{f.thin_repeats:<7}  {len(f.broken_rule):>12}"
            f"  {f.attempts:>8}  {failed:>6}  {f.throughput:>6.0f}"
            f"  {f.p50_ms:>6.0f}  {f.p99_ms:>6.0f}"
        )
        print(f"    ({f.killed})")
        if f.lost or f.doubled or f.broken_rule or f.not_acknowledged:
            missed.append(f"{f.receiver} with a {f.kill} killed")
    return missed


# ---------------------------------------------------------------------- inboxes
INBOX_DELIVERIES = 2000
INBOX_THREADS = 4


def _in_threads(count: int, job: Callable[[int], None]) -> float:
    """Seconds ``count`` threads take to run ``job(thread number)``."""
    threads = [threading.Thread(target=job, args=(n,)) for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def inbox_rates(under_test: InboxUnderTest) -> tuple[float, float]:
    """Deliveries a second: stored by INBOX_THREADS threads sharing one
    inbox (a receiver process), then claimed and done by as many workers
    with an inbox each."""
    deliveries = load_deliveries(INBOX_DELIVERIES, thin_share=0.3)
    receiver = under_test.open()

    def store(n: int) -> None:
        for delivery in deliveries[n::INBOX_THREADS]:
            receiver.store(delivery)

    def work(n: int) -> None:
        box = under_test.open()
        while (claimed := box.claim()) is not None:
            box.done(claimed[0])

    stored = _in_threads(INBOX_THREADS, store)
    worked = _in_threads(INBOX_THREADS, work)
    assert receiver.counts() == {"done": len(deliveries)}
    under_test.close()
    return len(deliveries) / stored, len(deliveries) / worked


def inbox_throughput(work: Path) -> dict[str, tuple[float, float]]:
    """Store and claim rates of each inbox, on disk, durable."""
    rates = {"sqlite": inbox_rates(InboxUnderTest("sqlite", str(work / "i")))}
    bindir = postgres.binaries()
    if bindir is None:
        raise SystemExit(
            f"no PostgreSQL server binaries: {postgres.INSTALL_HINT}"
        )
    cluster = postgres.Cluster(bindir, durable=True)
    try:
        url = cluster.fresh_database()
        rates["postgresql"] = inbox_rates(InboxUnderTest("postgresql", url))
    finally:
        cluster.stop()
    return rates


def print_inbox_throughput(work: Path) -> None:
    print(
        f"\nDurable inbox ({INBOX_DELIVERIES} deliveries, on disk;"
        f" {INBOX_THREADS} threads store, {INBOX_THREADS} workers claim)"
    )
    for kind, (store, claim) in inbox_throughput(work).items():
        print(
            f"  {kind:<12} store {store:7.0f} /s"
            f"   claim and done {claim:7.0f} /s"
        )


# ---------------------------------------------------------------------- report
def _kb(size: float) -> str:
    return f"{size / 1024:.1f} KB"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=5, help="builds of each kind"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip the test suite, Lighthouse and the receivers",
    )
    parser.add_argument(
        "--receivers",
        action="store_true",
        help="measure the receivers under load, nothing else",
    )
    parser.add_argument(
        "--inboxes", action="store_true", help="measure the inboxes only"
    )
    parser.add_argument(
        "--pages",
        action="store_true",
        help="measure the pages only: first load and Lighthouse",
    )
    parser.add_argument(
        "--loop",
        action="store_true",
        help="time make check, then make test and bash .ci/run on fresh"
        " clones (about 15 minutes), nothing else",
    )
    return parser.parse_args(argv)


def print_build_times(runs: int, work: Path) -> list[str]:
    """Print our build's time against the bare build's; return what missed
    the budget."""
    cold = cold_build(work)
    ours, bare = build_times(runs, work)
    ratio = ours / bare
    print(f"Build (median of {runs})")
    print(f"  mkdocs build --strict        {ours:6.2f} s")
    print(f"  bare mkdocs-material build   {bare:6.2f} s")
    print(f"  first build, cache empty     {cold:6.2f} s   (not budgeted)")
    budget = f"(budget {BUILD_RATIO_BUDGET})"
    print(f"  ratio                        {ratio:6.2f}   {budget}")
    if ratio > BUILD_RATIO_BUDGET:
        return [f"build ratio {ratio:.2f}"]
    return []


def print_weights(
    weights: list[Weight], scores: dict[str, dict[str, int]]
) -> list[str]:
    """Print each page's first load, and its Lighthouse scores if measured;
    return what missed the budget."""
    missed = []
    name_width = max(len(w.page) for w in weights)
    kinds = ("html", "css", "js", "worker")
    print(
        f"\nFirst load per page: HTML + CSS + JS (budget {_kb(GZIP_BUDGET)} gzip)"
    )
    header = f"  {'page':<{name_width}}  {'files':>5}  {'raw KB':>7}  {'gzip KB':>7}"
    header += "".join(f"  {k:>6}" for k in kinds) + "  offsite"
    header += "  perf  a11y  best  seo" if scores else ""
    print(header)
    for w in weights:
        line = f"  {w.page:<{name_width}}  {w.files:>5}  {w.raw / 1024:>7.1f}"
        line += f"  {w.gzipped / 1024:>7.1f}"
        line += "".join(
            f"  {w.gzip_by_kind.get(k, 0) / 1024:>6.1f}" for k in kinds
        )
        line += f"  {len(w.offsite):>7}"
        if scores:
            s = scores[w.page]
            line += "".join(f"  {s[c]:>4}" for c in CATEGORIES[:3])
            line += f"  {s['seo']:>3}"
        print(line)
        if w.gzipped > GZIP_BUDGET:
            missed.append(f"{w.page} weighs {_kb(w.gzipped)} gzip")
        missed += [f"{w.page} requested {u}" for u in w.offsite]
    print(
        "  (html, css, js, worker: gzip KB of each kind; worker is the search worker)"
    )
    heaviest = max(weights, key=lambda w: w.gzipped)
    offsite = sum(len(w.offsite) for w in weights)
    lightest = min(weights, key=lambda w: w.gzipped)
    print(f"  lightest: {lightest.page}, {_kb(lightest.gzipped)} gzip")
    print(f"  heaviest: {heaviest.page}, {_kb(heaviest.gzipped)} gzip")
    print(f"  requests to other hosts: {offsite} (budget 0)")
    if scores:
        lowest = {c: min(s[c] for s in scores.values()) for c in CATEGORIES}
        print(
            "  Lighthouse (mobile), lowest over all pages: "
            + ", ".join(f"{c} {v}" for c, v in lowest.items())
            + " (goal 100)"
        )
    return missed


def print_pages(chromium: str, work: Path, *, lighthouse: bool) -> list[str]:
    """Weigh every page of the site built in ``work / "site-ours"`` (and
    score it with Lighthouse); print the figures; return what missed."""
    with serve_site(work / "site-ours", compress=True) as site:
        base, pages = site.base, site.pages
        weights = page_weights(chromium, pages, base)
        scores = {}
        if lighthouse:
            for url in pages:
                scores[url.removeprefix(base) or "(home)"] = median_scores(
                    chromium, url, work
                )
    return print_weights(weights, scores)


def _verdict(missed: list[str]) -> int:
    """Print whether the budget was met; the exit status."""
    print(
        "\nBudget: "
        + ("met" if not missed else "missed: " + "; ".join(missed))
    )
    return 1 if missed else 0


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.receivers:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            missed = print_receivers(receiver_figures(Path(tmp)))
        return _verdict(missed)
    if args.inboxes:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            print_inbox_throughput(Path(tmp))
        return 0
    if args.loop:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            return _verdict(print_loop_times(loop_times(Path(tmp))))
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit(f"no Chromium found: {INSTALL_HINT}")
    if args.pages:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            work = Path(tmp)
            _build_seconds(ROOT / "mkdocs.yml", work / "site-ours", True)
            return _verdict(print_pages(chromium, work, lighthouse=True))

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        missed = print_build_times(args.runs, work)

        if not args.quick:
            seconds, summary = suite_time(work)
            print(
                f"\nTest suite (pytest --cov)      {seconds:6.1f} s   ({summary})"
            )

        print_inbox_throughput(work)

        missed += print_pages(chromium, work, lighthouse=not args.quick)

    if not args.quick:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            missed += print_receivers(receiver_figures(Path(tmp)))

    return _verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
