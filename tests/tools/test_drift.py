"""The drift check takes its baseline from the last ``make test`` only when
that run stands for the tree it copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import drift

HEAD = "0123456789abcdef0123456789abcdef01234567"
JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="{tests}" failures="{failures}"
 errors="{errors}" skipped="0"></testsuite></testsuites>"""


@pytest.fixture
def git(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What git answers: HEAD's commit, and a clean tree."""
    answers = {"rev-parse": HEAD, "status": ""}
    monkeypatch.setattr(drift, "_git", lambda command, *_: answers[command])
    return answers


@pytest.fixture
def results(tmp_path: Path, git: dict[str, str]) -> Path:
    """A passing run on HEAD, in a clean tree."""
    (tmp_path / "revision").write_text(HEAD + "\n")
    (tmp_path / "junit.xml").write_text(
        JUNIT.format(tests=1657, failures=0, errors=0)
    )
    return tmp_path


def test_a_passing_run_on_this_commit_is_the_baseline(results: Path) -> None:
    assert drift.reusable_baseline(results) == "1657 tests passed in make test"


@pytest.mark.parametrize(
    ("failures", "errors", "tests"), [(1, 0, 1657), (0, 2, 1657), (0, 0, 0)]
)
def test_a_run_that_did_not_pass_is_not(
    results: Path, failures: int, errors: int, tests: int
) -> None:
    (results / "junit.xml").write_text(
        JUNIT.format(tests=tests, failures=failures, errors=errors)
    )
    assert drift.reusable_baseline(results) is None


def test_a_run_on_another_commit_is_not(results: Path, git) -> None:
    git["rev-parse"] = "f" * 40
    assert drift.reusable_baseline(results) is None


def test_a_tree_changed_since_is_not(results: Path, git) -> None:
    git["status"] = " M docs/index.md"
    assert drift.reusable_baseline(results) is None


@pytest.mark.parametrize("missing", ["revision", "junit.xml"])
def test_without_its_results_there_is_none(results: Path, missing) -> None:
    (results / missing).unlink()
    assert drift.reusable_baseline(results) is None
