"""Deliberate errors: prove the suite catches a fact changed in one place only.

Run it: ``make drift`` (``python -m tests.support.drift``).

It copies the repository (tracked and untracked files, nothing ignored) into a
temporary directory and works there only. It runs the suite once unchanged
(everything but the browser and load tests: the baseline), then makes each
change below, runs only the tests named for that change, and restores the
file. Two changes are tried at a time, each in its own copy, one per core. A change is caught when one of its tests that passed in
the baseline now fails. It prints each change with the test that caught it,
then the totals, and exits non-zero unless the baseline passed and every
change was caught.

``--only WORDS`` runs the changes whose description contains them;
``--rev HEAD`` tests a commit instead of the working tree. ``--reuse``
takes the baseline from the last ``make test`` instead of running the
suite again, when that run passed on the commit checked out now and the
tree has not changed since (``.cache/test-results/``); CI runs ``make test``
just before, so its run is the baseline. Otherwise it runs its own.
"""

from __future__ import annotations

import argparse
import io
import os
import queue
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import ROOT

BLOCKS = "tests/site/test_blocks.py"
NUMBERS = "tests/site/test_numbers.py"
CONTRACT = "tests/snippets/test_contract.py"


@dataclass(frozen=True)
class Change:
    kind: str  # what sort of fact drifts
    path: str  # the file changed, relative to the repository
    old: str  # text that occurs exactly once in the file
    new: str
    tests: tuple[str, ...]  # what must catch it: pytest paths, or -k words

    def apply(self, root: Path) -> bytes:
        """Make the change under ``root``; return the file's bytes before."""
        target = root / self.path
        original = target.read_bytes()
        text = original.decode()
        count = text.count(self.old)
        if count != 1:
            raise ValueError(
                f"{self.path}: {self.old!r} is there {count} times"
            )
        target.write_text(text.replace(self.old, self.new))
        return original


def _constant(path: str, old: str, new: str, name: str) -> Change:
    """A constant behind a number the pages state."""
    return Change(
        f"the constant behind a number in prose ({name})",
        path,
        old,
        new,
        (NUMBERS,),
    )


CHANGES = (
    Change(
        "an event value in a JSON body sent by a curl on a page",
        "docs/create-webhook.md",
        '      "event": "batch"\n    }\n    EOF',
        '      "event": "batches"\n    }\n    EOF',
        (BLOCKS,),
    ),
    Change(
        "an event value in a JSON answer on a page",
        "docs/create-webhook.md",
        '  "event": "batch"\n}',
        '  "event": "shipment"\n}',
        (BLOCKS,),
    ),
    Change(
        "an endpoint path in a curl command",
        "docs/create-webhook.md",
        "curl -i -X PUT {{ api_base }}{{ webhooks_path }}/$WEBHOOK_ID",
        "curl -i -X PUT {{ api_base }}/v1/webhooks/$WEBHOOK_ID",
        (BLOCKS,),
    ),
    Change(
        "a variable a curl sends inside single quotes (never expanded)",
        "docs/create-webhook.md",
        '-d "{\\"url\\": \\"$WEBHOOK_URL\\", \\"event\\": \\"batch\\"}"',
        """-d '{"url": "$WEBHOOK_URL", "event": "batch"}'""",
        (BLOCKS,),
    ),
    Change(
        "a field name in a JSON answer",
        "docs/create-webhook.md",
        '{\n  "webhook_id": "5519",\n',
        '{\n  "id": "5519",\n',
        (BLOCKS,),
    ),
    Change(
        "an error code in a JSON answer",
        "docs/create-webhook.md",
        '"error_code": "webhook_event_type_conflict"',
        '"error_code": "webhook_conflict"',
        (BLOCKS,),
    ),
    Change(
        "a status code in prose",
        "docs/status-codes.md",
        "`DE` and `SP` are final",
        "`DL` and `SP` are final",
        ("tests/site/test_facts.py",),
    ),
    Change(
        "a status code in the source of truth",
        "snippets/catalog.py",
        'TrackingStatus(\n        "DE",',
        'TrackingStatus(\n        "DL",',
        (CONTRACT,),
    ),
    Change(
        "an event value in the source of truth",
        "snippets/catalog.py",
        'Event(\n        "batch",',
        'Event(\n        "batch_completed",',
        (CONTRACT,),
    ),
    Change(
        "a header name in a snippet",
        "snippets/client.py",
        'session.headers["API-Key"]',
        'session.headers["Api-Token"]',
        ("tests/snippets/test_client.py",),
    ),
    Change(
        "an HTTP status in a snippet",
        "snippets/endpoint.py",
        '    inbox.put(delivery)\n    return "", 204',
        '    inbox.put(delivery)\n    return "", 202',
        ("tests/snippets/test_endpoint.py", BLOCKS),
    ),
    Change(
        "a name a page's block uses that its program does not define",
        "snippets/create_webhook.py",
        '    return api_call(session, "POST", "/v1/environment/webhooks",',
        '    return call_api(session, "POST", "/v1/environment/webhooks",',
        (BLOCKS,),
    ),
    Change(
        "a requirement the programs import, left out of the list",
        "pyproject.toml",
        '    "werkzeug>=3.1,<4",  # imported by the Flask receiver itself\n',
        "",
        ("tests/site/test_downloads.py",),
    ),
    Change(
        "a number typed into prose instead of its placeholder",
        "docs/inbox-worker.md",
        "{{ inbox_lease_minutes }} minutes",
        "5 minutes",
        (NUMBERS,),
    ),
    _constant("snippets/inbox.py", "LEASE = 300.0", "LEASE = 360.0", "LEASE"),
    _constant(
        "snippets/inbox.py",
        "MAX_ATTEMPTS = 8 ",
        "MAX_ATTEMPTS = 9 ",
        "MAX_ATTEMPTS",
    ),
    _constant(
        "snippets/inbox.py",
        "RETRY_FIRST_WAIT = 10 ",
        "RETRY_FIRST_WAIT = 15 ",
        "RETRY_FIRST_WAIT",
    ),
    _constant(
        "snippets/verify_signatures.py",
        "MAX_SKEW = 5 * 60",
        "MAX_SKEW = 10 * 60",
        "MAX_SKEW",
    ),
    _constant(
        "snippets/receive_flask.py",
        "MAX_BODY = 1024 * 1024",
        "MAX_BODY = 2 * 1024 * 1024",
        "MAX_BODY",
    ),
    _constant("snippets/client.py", "RETRIES = 5 ", "RETRIES = 4 ", "RETRIES"),
    _constant(
        "snippets/settings.py",
        "TIMEOUT = (3.05, 15)",
        "TIMEOUT = (3.05, 30)",
        "TIMEOUT",
    ),
    _constant(
        "snippets/catalog.py",
        "RATE_LIMIT_PER_MINUTE = 200",
        "RATE_LIMIT_PER_MINUTE = 300",
        "RATE_LIMIT_PER_MINUTE",
    ),
)


def copy_revision(source: Path, target: Path, revision: str) -> None:
    """Copy the files of a commit (``git archive``) to ``target``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision],
        cwd=source,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


def copy_repository(source: Path, target: Path) -> None:
    """Copy what git knows of (tracked, and untracked but not ignored)."""
    listed = subprocess.run(
        [
            "git",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
        cwd=source,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        origin = source / name
        if origin.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / name)


FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
CONFTEST_BROKEN = "ImportError while loading conftest"


def run_tests(
    root: Path, basetemp: Path, *selection: str, workers: str = "auto"
) -> tuple[int, set]:
    """pytest in ``root`` (browser and load tests left out); its exit code
    and the ids of the tests that failed."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("YOURSTORE")
    }
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(root))
    # The build's cache (docs/_hooks/memo.py) is the repository's: a page
    # the change did not touch is not converted again.
    env.setdefault("DOCS_BUILD_CACHE", str(ROOT / ".cache" / "build"))
    shutil.rmtree(basetemp, ignore_errors=True)
    command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-n", workers]
    command += ["--dist", "load"]
    command += ["-p", "no:cacheprovider", "-m", "not browser and not load"]
    command += [f"--basetemp={basetemp}", "--no-cov", *selection]
    result = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, check=False
    )
    failing = set(FAILED.findall(result.stdout))
    if CONFTEST_BROKEN in result.stdout + result.stderr:
        # The change breaks an import every test needs: the suite cannot
        # start at all, which catches it as surely as a failing test.
        failing.add("tests/conftest.py (the suite cannot start)")
    return result.returncode, failing


def plant(work: Path, basetemp: Path, change: Change, baseline: set) -> str:
    """Make one change, run its tests, undo it; the verdict.

    Its tests run in one process: a change's tests are few, and the two
    lanes (see :func:`plant_all`) keep both cores busy. When the unchanged
    suite passed, the run stops at the first failure, which is the catch.
    """
    try:
        original = change.apply(work)
    except ValueError as error:
        return f"NOT APPLIED: {error}"
    stop = ("--maxfail=1",) if not baseline else ()
    try:
        _, failing = run_tests(
            work, basetemp, *stop, *change.tests, workers="0"
        )
    finally:
        (work / change.path).write_bytes(original)
    new = sorted(failing - baseline)
    if not new:
        return "NOT CAUGHT"
    more = f" (+{len(new) - 1} more)" if len(new) > 1 else ""
    return f"caught by {new[0]}{more}"


LANES = 2  # changes planted at once, each in its own copy: one per core


def plant_all(
    copies: list[Path], temporary: Path, changes: list[Change], baseline: set
) -> int:
    """Plant every change, ``LANES`` at a time; print each verdict as it
    comes; how many were caught."""
    free: queue.Queue[int] = queue.Queue()
    for lane in range(len(copies)):
        free.put(lane)

    def run(number: int, change: Change) -> bool:
        lane = free.get()
        started = time.monotonic()
        try:
            verdict = plant(
                copies[lane], temporary / f"pytest-{lane}", change, baseline
            )
        finally:
            free.put(lane)
        took = time.monotonic() - started
        print(
            f"{number:2}. {change.kind} ({change.path}): {verdict}"
            f" [{took:.0f} s]",
            flush=True,
        )
        return verdict.startswith("caught")

    with ThreadPoolExecutor(max_workers=len(copies)) as pool:
        verdicts = pool.map(run, range(1, len(changes) + 1), changes)
        return sum(verdicts)


RESULTS = ROOT / ".cache" / "test-results"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def reusable_baseline(results: Path = RESULTS) -> str | None:
    """Why the last ``make test`` can stand for the baseline (its summary),
    or None when it cannot: it did not pass, it ran on another commit, or
    the tree changed since."""
    revision, junit = results / "revision", results / "junit.xml"
    if not (revision.is_file() and junit.is_file()):
        return None
    if revision.read_text().strip() != _git("rev-parse", "HEAD"):
        return None
    if _git("status", "--porcelain"):
        return None
    suites = ET.parse(junit).getroot().iter("testsuite")
    totals = Counter[str]()
    for suite in suites:
        for key in ("tests", "failures", "errors"):
            totals[key] += int(suite.get(key, 0))
    if totals["failures"] or totals["errors"] or not totals["tests"]:
        return None
    return f"{totals['tests']} tests passed in make test"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="the changes whose kind holds this")
    parser.add_argument("--rev", help="test this commit (e.g. HEAD) instead")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take the baseline from the last make test when it stands",
    )
    options = parser.parse_args(argv)
    changes = [
        c for c in CHANGES if not options.only or options.only in c.kind
    ]
    with tempfile.TemporaryDirectory(prefix="docs-drift-") as folder:
        temporary = Path(folder)
        copies = [temporary / f"repo-{lane}" for lane in range(LANES)]
        for work in copies:
            if options.rev:
                copy_revision(ROOT, work, options.rev)
            else:
                copy_repository(ROOT, work)
        reused = options.reuse and not options.rev and reusable_baseline()
        if reused:
            code, baseline = 0, set()
            print(f"Unchanged suite: {reused} on this commit", flush=True)
        else:
            started = time.monotonic()
            code, baseline = run_tests(copies[0], temporary / "pytest-0")
            seconds = time.monotonic() - started
            print(
                f"Unchanged suite: exit {code} in {seconds:.0f} s", flush=True
            )
        for test in sorted(baseline):
            print(f"  failing unchanged: {test}")
        caught = plant_all(copies, temporary, changes, baseline)
    print(f"\n{len(changes)} changes, {caught} caught")
    return 0 if caught == len(changes) and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
