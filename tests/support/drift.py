"""Deliberate errors: prove the suite catches a fact changed in one place only.

Run it: ``python -m tests.support.drift``

The script copies the repository (tracked and untracked files, nothing ignored)
into a temporary directory and works there only, so the checkout is never
touched. It runs the suite once unchanged, then, one at a time, makes each
change below, runs the suite again and restores the file. A change is caught
when a test that passed unchanged now fails. It prints each change with the
test that caught it, then the totals, and exits non-zero unless every change
was caught and the unchanged suite passed.

Tests marked ``browser`` are left out: they drive the built site in Chromium
and prove nothing these changes could break that the other tests do not.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import ROOT


@dataclass(frozen=True)
class Change:
    kind: str  # what sort of fact drifts
    path: str  # the file changed, relative to the repository
    old: str  # text that occurs exactly once in the file
    new: str

    def apply(self, root: Path) -> bytes:
        """Make the change under ``root``; return the file's original bytes."""
        target = root / self.path
        original = target.read_bytes()
        text = original.decode()
        count = text.count(self.old)
        if count != 1:
            raise ValueError(
                f"{self.path}: {self.old!r} occurs {count} times, not once"
            )
        target.write_text(text.replace(self.old, self.new))
        return original


CHANGES = (
    Change(
        "an event value in a JSON body on a page",
        "docs/create-webhook.md",
        '        "event": "batch"\n',
        '        "event": "batches"\n',
    ),
    Change(
        "an event value in a JSON response on a page",
        "docs/create-webhook.md",
        '  "event": "batch"\n}',
        '  "event": "shipment"\n}',
    ),
    Change(
        "an endpoint path in a curl command",
        "docs/create-webhook.md",
        "curl -i -X PUT {{ api_base }}{{ webhooks_path }}/5519",
        "curl -i -X PUT {{ api_base }}/v1/webhooks/5519",
    ),
    Change(
        "a field name in a JSON response",
        "docs/create-webhook.md",
        '  "webhook_id": "5519",\n',
        '  "id": "5519",\n',
    ),
    Change(
        "a status code in the source of truth",
        "snippets/catalog.py",
        'TrackingStatus(\n        "DE",',
        'TrackingStatus(\n        "DL",',
    ),
    Change(
        "an event value in the source of truth",
        "snippets/catalog.py",
        'Event(\n        "batch",',
        'Event(\n        "batch_completed",',
    ),
    Change(
        "a header name in a snippet",
        "snippets/client.py",
        'session.headers["API-Key"]',
        'session.headers["Api-Token"]',
    ),
    Change(
        "an HTTP status in a snippet",
        "snippets/endpoint.py",
        '    inbox.put(delivery)\n    return "", 204',
        '    inbox.put(delivery)\n    return "", 202',
    ),
    Change(
        "a status code in prose",
        "docs/status-codes.md",
        "`DE` and `SP` are final",
        "`DL` and `SP` are final",
    ),
    Change(
        "an error code in a JSON response on a page",
        "docs/create-webhook.md",
        '"error_code": "webhook_event_type_conflict"',
        '"error_code": "webhook_conflict"',
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
    """Copy what git knows of (tracked and untracked, not ignored) to
    ``target``."""
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


def run_suite(
    root: Path, basetemp: Path, stop_early: bool
) -> tuple[int, set[str]]:
    """Run the suite in ``root``; return its exit code and the failing test
    ids."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("YOURSTORE_")
    }
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(root))
    env["COVERAGE_FILE"] = str(basetemp.parent / ".coverage")
    shutil.rmtree(basetemp, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rfE",
        "-p",
        "no:cacheprovider",
    ]
    command += ["-m", "not browser", f"--basetemp={basetemp}"]
    command += ["-x"] if stop_early else []
    result = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, check=False
    )
    return result.returncode, set(FAILED.findall(result.stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", help="run only the changes whose kind contains this text"
    )
    parser.add_argument(
        "--rev",
        help="test this commit instead of the working tree (e.g. HEAD), so edits in "
        "progress in the checkout do not count",
    )
    options = parser.parse_args(argv)
    changes = [
        c for c in CHANGES if not options.only or options.only in c.kind
    ]

    with tempfile.TemporaryDirectory(prefix="docs-drift-") as temporary:
        work, basetemp = Path(temporary) / "repo", Path(temporary) / "pytest"
        if options.rev:
            copy_revision(ROOT, work, options.rev)
        else:
            copy_repository(ROOT, work)
        started = time.monotonic()
        code, baseline = run_suite(work, basetemp, stop_early=False)
        if code != 0:
            print(
                f"The unchanged suite fails ({len(baseline)} tests):",
                flush=True,
            )
            for test in sorted(baseline):
                print(f"  {test}")
            print("A change counts as caught only if it fails another test.")
        print(
            f"Unchanged suite: exit {code} in {time.monotonic() - started:.0f}s\n"
        )

        caught = 0
        for number, change in enumerate(changes, start=1):
            try:
                original = change.apply(work)
            except ValueError as error:
                print(
                    f"{number:2}. {change.kind}: NOT APPLIED: {error}",
                    flush=True,
                )
                continue
            try:
                started = time.monotonic()
                _, failing = run_suite(work, basetemp, stop_early=code == 0)
            finally:
                (work / change.path).write_bytes(original)
            new = sorted(failing - baseline)
            caught += bool(new)
            verdict = f"caught by {new[0]}" if new else "NOT CAUGHT"
            if len(new) > 1:
                verdict += f" (+{len(new) - 1} more)"
            print(
                f"{number:2}. {change.kind} ({change.path}): {verdict} "
                f"[{time.monotonic() - started:.0f}s]",
                flush=True,
            )
    print(f"\n{len(changes)} changes, {caught} caught")
    return 0 if caught == len(changes) and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
