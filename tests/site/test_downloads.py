"""The complete programs the site offers, as files a reader downloads.

Each program's own behaviour is tested in its snippet's test module, run from
a folder that holds the download alone. Here: every program is offered where
it belongs, is clean code, names every package it imports in its requirements
file (checked through the installed distributions, independently of how the
build chose them), says in one line what it misses when run without the
variables it needs, and comes in the zip byte for byte.
"""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import tomllib
import zipfile
from functools import cache
from importlib.metadata import packages_distributions

import pytest
from packaging.utils import canonicalize_name

from docs._hooks import build, programs
from tests.support import shell
from tests.support.checks import RUFF
from tests.support.paths import ROOT
from tests.support.reader import Reader
from tests.support.site import raw_markdown

PROGRAMS = [p.name for p in programs.PROGRAMS]
# What a reader types to reach each program's need for a variable.
ARGS = {
    "manage_webhooks.py": ["list"],
    "move_endpoint.py": ["https://a.example/x", "https://b.example/y"],
    "webhooks_vs_apis.py": ["usps", "9405511899223197428490"],
}
STDIN = {"payloads.py": '{"resource_url": "x", "resource_type": "API_RATE"}'}


def _offered(page: str) -> set[str]:
    return {
        name
        for match in build.DOWNLOAD.finditer(raw_markdown(page))
        for name in match["names"].split()
    }


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_program_is_offered_on_its_page(name):
    assert name in _offered(programs.program(name).page)


def test_the_programs_are_clean_code(built_site):
    files = [str(built_site / "downloads" / name) for name in PROGRAMS]
    lint = subprocess.run(
        [RUFF, "check", "--isolated", "--line-length", "79", "--select",
         "E,F,W,I,B,UP", "--target-version", "py311", *files],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    style = subprocess.run(
        [RUFF, "format", "--isolated", "--line-length", "79", "--check",
         *files],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert lint.returncode == 0, lint.stdout
    assert style.returncode == 0, style.stdout


def _imports(code: str) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            tops |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            tops.add(node.module.split(".")[0])
    return tops - set(sys.stdlib_module_names)


def _requirement_names(text: str) -> set[str]:
    """What the lines install: each one's distribution, and those its
    extras pull in (``psycopg[pool]`` brings ``psycopg-pool``)."""
    return {
        name
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
        for name in programs.distributions(line)
    }


@cache
def _providers() -> dict[str, list[str]]:
    """Import name -> installed distributions: read once per session, as it
    walks every installed file list (most of a second each time)."""
    return dict(packages_distributions())


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_import_is_a_line_of_the_program_s_requirements(
    built_site, name
):
    program = programs.program(name)
    code = (built_site / "downloads" / name).read_text()
    listed = _requirement_names(
        (built_site / "downloads" / program.requirements).read_text()
    )
    siblings = {p.removesuffix(".py") for p in PROGRAMS}
    providers = _providers()

    for top in sorted(_imports(code) - siblings):
        distributions = {canonicalize_name(d) for d in providers.get(top, [])}
        assert distributions & listed, (
            f"{name} imports {top} ({sorted(distributions)}): "
            f"not in {program.requirements}"
        )


def test_requirements_txt_is_the_project_s_dependency_list(built_site):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    written = (built_site / "downloads" / "requirements.txt").read_text()

    assert [ln for ln in written.splitlines() if not ln.startswith("#")] == (
        project["dependencies"]
    )


def test_the_zip_holds_every_program_and_requirements_file(built_site):
    folder = built_site / "downloads"
    with zipfile.ZipFile(
        io.BytesIO((folder / "examples.zip").read_bytes())
    ) as z:
        packed = {
            info.filename.removeprefix("examples/"): z.read(info)
            for info in z.infolist()
        }

    expected = set(PROGRAMS) | {p.requirements for p in programs.PROGRAMS}
    assert set(packed) == expected
    for name, content in packed.items():
        assert content == (folder / name).read_bytes(), name


NEEDY = [
    p.name
    for p in programs.PROGRAMS
    if p.name != "testing.py"  # pytest runs it; its tests set their own key
    and shell.download_variables(programs.compose(p, "", ""))[0]
]


@pytest.mark.parametrize("name", NEEDY)
def test_run_without_its_variables_a_program_says_so_in_one_line(
    built_site, tmp_path, name
):
    reader = Reader(built_site, tmp_path).download(name)
    needed, _ = shell.download_variables(built_site / "downloads" / name)

    answer = reader.run(name, *ARGS.get(name, []), stdin=STDIN.get(name, ""))

    assert answer.returncode == 1
    assert "Traceback" not in answer.stderr
    assert answer.stderr.count("\n") == 1, answer.stderr
    assert any(variable in answer.stderr for variable in needed), answer.stderr


def test_the_programs_that_need_variables_are_the_api_s(built_site):
    assert set(NEEDY) >= {"client.py", "create_webhook.py", "errors.py"}
