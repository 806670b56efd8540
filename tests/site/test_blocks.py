"""Every code block on every page, proven: Python, JSON, curl, shell commands,
HTTP.

The blocks are read from the built site (what a reader copies) and paired with
their fences in ``docs/``. Each kind of block has its checks below, and
``test_every_block_is_claimed`` fails on any block that no check claims. The
markers pages use (``data-schema``, ``data-response``, ``data-expect``,
``data-receiver``, ``data-fragment``) are described in ``tests/support/blocks.py``.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import types
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from packaging.requirements import InvalidRequirement, Requirement

from snippets import payloads, schemas, settings
from tests.support import blocks
from tests.support.checker import (
    API_KEY_HEADER,
    claim,
    command_problems,
    fake_routes,
    http_request,
    is_api_url,
    replay_page,
    same_answer,
)
from tests.support.blocks import Block, Command, Curl, CurlError
from tests.support.fake_api import TEST_API_KEY, FakeApi, Response, Shipment
from tests.support.paths import ROOT

PAGES = blocks.source_pages()


@pytest.fixture(scope="module")
def site_blocks(built_site: Path) -> dict[str, list[Block]]:
    return blocks.site_blocks(built_site)


def all_blocks(site_blocks: dict[str, list[Block]]) -> list[Block]:
    return [block for page in site_blocks.values() for block in page]






















def test_there_are_blocks_of_every_kind(site_blocks):
    kinds = {claim(b) for b in all_blocks(site_blocks)}
    assert {
        "python from snippet sections",
        "json",
        "curl",
        "shell commands",
    } <= kinds


def test_every_block_is_claimed(site_blocks):
    unclaimed = [
        f"{block}: {(block.text.strip() or '(empty)').splitlines()[0][:70]}"
        for block in all_blocks(site_blocks)
        if claim(block) is None
    ]
    assert not unclaimed, "blocks no check claims:\n" + "\n".join(unclaimed)


def test_every_built_page_has_a_source_and_the_same_blocks(
    built_site, site_blocks
):
    built = {
        str(p.relative_to(built_site))
        for p in built_site.rglob("*.html")
        if p.name != "404.html"
        and p.relative_to(built_site).parts[0] != "search"
    }
    assert built == {blocks.html_path(page) for page in PAGES}
    for page, found in site_blocks.items():
        sources = blocks.fences(blocks.page_markdown(page))
        assert [b.lang for b in found] == [f.lang for f in sources], page


def test_python_and_curl_sit_in_tabs_labelled_python_and_curl(site_blocks):
    """Linked tabs switch together only when their labels match exactly."""
    for block in all_blocks(site_blocks):
        if block.tab is None:
            continue
        if claim(block) == "curl":
            assert block.tab == "curl", f"{block} sits in tab {block.tab!r}"
        elif block.lang == "python" and "curl" in block.tabs:
            assert block.tab == "Python", f"{block} sits in tab {block.tab!r}"


def test_no_page_types_the_api_base(site_blocks):
    for page in PAGES:
        text = blocks.page_markdown(page)
        assert settings.API_BASE not in text, (
            f"{page}: write {{{{ api_base }}}}"
        )


# -------------------------------------------------------------------- python
def python_blocks(
    site_blocks: dict[str, list[Block]], kind: str
) -> list[Block]:
    return [b for b in all_blocks(site_blocks) if claim(b) == kind]


def test_python_blocks_are_exactly_their_snippet_sections(site_blocks):
    found = python_blocks(site_blocks, "python from snippet sections")
    assert found
    for block in found:
        refs = blocks.section_refs(block.source.body)
        expected = "\n".join(blocks.section(path, name) for path, name in refs)
        assert block.text.rstrip("\n") == expected.rstrip("\n"), block
        files = {path for path, _ in refs}
        assert block.title in files, (
            f"{block}: title {block.title!r} not in {files}"
        )


def test_python_blocks_run_when_pasted_alone(
    site_blocks, fake_api, tmp_path, monkeypatch
):
    """No undefined, unused or twice-imported name (ruff's F rules), and the
    module-level code runs in a fresh namespace, against the fake, in an empty
    directory."""
    found = python_blocks(site_blocks, "python from snippet sections")
    files = []
    for number, block in enumerate(found):
        path = tmp_path / f"block_{number}.py"
        path.write_text(block.text)
        files.append(path)
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F",
         "--target-version", "py311", "--output-format", "concise", *map(str, files)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    names = {
        str(path): str(block) for path, block in zip(files, found, strict=True)
    }
    report = lint.stdout
    for path, where in names.items():
        report = report.replace(path, where)
    assert lint.returncode == 0, report
    monkeypatch.chdir(tmp_path)
    for number, block in enumerate(found):
        module = types.ModuleType(f"pasted_block_{number}")
        monkeypatch.setitem(sys.modules, module.__name__, module)
        code = compile(block.text, str(block), "exec", dont_inherit=True)
        exec(code, module.__dict__)


def test_python_fragments_compile(site_blocks):
    for block in python_blocks(site_blocks, "python fragment"):
        assert block.attrs["data-fragment"].strip() not in ("", "None"), (
            f"{block}: say why it is a fragment in data-fragment"
        )
        compile(block.text, str(block), "exec", dont_inherit=True)


# ---------------------------------------------------------------------- json
def test_json_blocks_match_their_schema(site_blocks):
    checked = 0
    for block in all_blocks(site_blocks):
        if block.lang != "json":
            continue
        name = block.attrs.get("data-schema")
        assert name in schemas.SCHEMAS, (
            f"{block}: data-schema {name!r} is unknown"
        )
        try:
            document = json.loads(block.text)
        except ValueError as error:
            pytest.fail(f"{block}: not JSON: {error}")
        assert not schemas.problems(name, document), (
            f"{block} is not a valid {name}: {schemas.problems(name, document)}"
        )
        checked += 1
    assert checked


















@pytest.mark.parametrize("page", PAGES)
def test_curls_replay_against_the_fake_as_the_page_says(
    site_blocks, page, api_key
):
    problems, _ = replay_page(site_blocks[page])
    assert not problems, "\n".join(problems)


def test_curls_were_replayed(site_blocks, api_key):
    total = sum(replay_page(found)[1] for found in site_blocks.values())
    assert total >= 5


def test_curl_parsing():
    words = blocks.commands(
        "curl -i -X PUT 'https://h/p?a=1' \\\n  -H \"API-Key: $K\" -d '{\"x\": 1}'"
    )[0].words
    curl = blocks.parse_curl(words, {"K": "secret"})
    assert (curl.method, curl.path, curl.query) == ("PUT", "/p", {"a": ["1"]})
    assert curl.headers == {"API-Key": "secret"}
    assert (curl.body, curl.include) == ('{"x": 1}', True)
    assert (
        blocks.parse_curl(["curl", "-d", "{}", "http://h/"], {}).method
        == "POST"
    )
    assert blocks.parse_curl(["curl", "-s", "http://h/x"], {}).include is False
    clustered = blocks.parse_curl(["curl", "-iX", "DELETE", "http://h/x"], {})
    assert (clustered.method, clustered.include) == ("DELETE", True)
    glued = blocks.parse_curl(["curl", "-sSXPUT", "-d{}", "http://h/x"], {})
    assert (glued.method, glued.body, glued.include) == ("PUT", "{}", False)
    for bad in (["curl", "-k", "http://h/"], ["curl", "http://h/", "$NOPE"]):
        with pytest.raises(CurlError):
            blocks.parse_curl(bad, {})


def test_answer_comparison_ignores_only_ids_and_timestamps():
    shown = {"webhook_id": "1", "at": "2026-01-01T00:00:00Z", "event": "batch"}
    actual = {
        "webhook_id": "9",
        "at": "2026-02-02T10:00:00Z",
        "event": "batch",
    }
    assert same_answer(shown, actual) == []
    assert same_answer(shown, {**actual, "event": "rate"})
    assert same_answer({**shown, "id": "1"}, actual)
    assert same_answer([1, 2], [1])


















def shell_commands(
    site_blocks: dict[str, list[Block]],
) -> list[tuple[str, Command]]:
    found = []
    for block in all_blocks(site_blocks):
        if claim(block) in ("shell commands", "curl"):
            found += [
                (str(block), c)
                for c in blocks.commands(block.text)
                if c.words[:1] != ["curl"]
            ]
    return found


def test_shell_commands_name_what_exists(site_blocks):
    found = shell_commands(site_blocks)
    assert found
    problems = [
        f"{where}: {p}" for where, c in found for p in command_problems(c)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "line",
    [
        "python -m snippets.no_such_module",
        "flask --app snippets.endpoint run --no-such-option",
        "flask --app snippets.catalog run",
        "uvicorn snippets.endpoint:no_app",
        "mkdocs serve --no-such-option",
        "pytest tests/no_such_file.py",
        "make no-such-target",
        "pip install 'requests>=99'",
        "export NOT_A_VARIABLE_OF_OURS=1",
        "NOT_A_VARIABLE_OF_OURS=1 python -m snippets.endpoint",
        "git clone somewhere",
    ],
)
def test_a_wrong_shell_command_is_caught(line):
    assert command_problems(blocks.commands(line)[0])


def test_the_commands_the_pages_use_pass():
    for line in (
        "python -m snippets.endpoint",
        "flask --app snippets.endpoint run --port 8080",
        "mkdocs serve --dev-addr 127.0.0.1:8000",
        "make test",
        'pip install "requests>=2.32" "flask>=3"',
        f"export {settings.API_KEY_ENV}=x",
    ):
        assert not command_problems(blocks.commands(line)[0]), line


# ---------------------------------------------------------------------- http
def test_http_blocks_name_real_routes(site_blocks):
    checked = 0
    for block in all_blocks(site_blocks):
        if block.lang != "http":
            continue
        request = http_request(block)
        assert request, f"{block}: not `METHOD URL` then `Header: value` lines"
        method, url, headers = request
        assert is_api_url(url), f"{block}: {url} is not on {settings.API_BASE}"
        path = url[len(settings.API_BASE) :].split("?")[0]
        assert fake_routes(method, path), (
            f"{block}: the API has no {method} {path}"
        )
        assert set(headers) <= {"API-Key", "Content-Type"}, block
        checked += 1
    assert checked


# ------------------------------------------------------- tables and prose
# facts
def soup_of(site: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup(
        (site / blocks.html_path(page)).read_text(), "html.parser"
    )


def page_of(*specs: tuple[str, str, dict[str, str]]) -> list[Block]:
    return [
        Block("example.md", number, lang, text, attrs)
        for number, (lang, text, attrs) in enumerate(specs)
    ]


CREATE = (
    f"curl -s -X POST {settings.API_BASE}{settings.WEBHOOKS_PATH} "
    f"-H 'Content-Type: application/json' -H '{API_KEY_HEADER}' "
    """-d '{"url": "https://example.com/hooks", "event": "batch"}'"""
)
CREATED = (
    '{"webhook_id": "1", "url": "https://example.com/hooks", "event": "batch"}'
)
RESPONSE = {"data-schema": "webhook", "data-response": "true"}


def test_replay_accepts_what_the_fake_answers(api_key):
    page = page_of(
        ("bash", CREATE, {}),
        ("json", CREATED, RESPONSE),
        ("text", "HTTP/1.1 200 OK\n", {}),
        ("bash", CREATE, {"data-expect": "409"}),
        ("text", "HTTP/1.1 409 Conflict\n", {}),
    )
    assert [claim(b) for b in page] == [
        "curl",
        "json",
        "curl output",
        "curl",
        "curl output",
    ]
    assert replay_page(page) == ([], 2)


@pytest.mark.parametrize(
    ("specs", "problem"),
    [
        ([("bash", CREATE, {"data-expect": "409"})], "answered 200"),
        ([("bash", CREATE, {}), ("bash", CREATE, {})], "answered 409"),
        (
            [
                ("bash", CREATE, {}),
                ("json", CREATED.replace("batch", "rate"), RESPONSE),
            ],
            "'rate' != 'batch'",
        ),
        ([("json", CREATED, RESPONSE)], "no API curl above it"),
        (
            [
                ("bash", CREATE, {}),
                ("json", CREATED, {"data-schema": "webhook"}),
            ],
            "mark it data-response",
        ),
        (
            [("bash", CREATE, {}), ("text", "HTTP/1.1 201 Created", {})],
            "shows 201",
        ),
        ([("bash", CREATE.replace("webhooks", "hooks"), {})], "has no POST"),
        (
            [("bash", CREATE.replace(f"-H '{API_KEY_HEADER}'", ""), {})],
            "API-Key",
        ),
        ([("bash", CREATE.replace("batch", "parcel"), {})], "not a real one"),
        (
            [
                (
                    "bash",
                    "curl -X POST http://127.0.0.1:8080/webhooks -d 'x'",
                    {
                        "data-receiver": "snippets.endpoint:app",
                        "data-expect": "204",
                    },
                )
            ],
            "answered 415",
        ),
    ],
)
def test_replay_reports_what_the_page_gets_wrong(api_key, specs, problem):
    problems, _ = replay_page(page_of(*specs))
    assert problem in "\n".join(problems)


def test_fences_are_found_inside_tabs_and_around_nested_fences():
    markdown = (
        '=== "curl"\n\n    ``` { .bash data-expect="409" }\n    curl x\n    ```\n\n'
        "````markdown\n```python\ninner\n```\n````\n"
    )
    found = blocks.fences(markdown)
    assert [(f.lang, f.body) for f in found] == [
        ("bash", "curl x"),
        ("markdown", "```python\ninner\n```"),
    ]


def test_only_named_sections_count_as_snippet_blocks():
    assert blocks.section_refs(
        "--8<--\nsnippets/client.py:client\n--8<--"
    ) == [("snippets/client.py", "client")]
    for body in (
        "import os",
        '--8<-- "snippets/client.py"',
        "--8<--\nsnippets/client.py\n--8<--",
        "--8<--\nsnippets/client.py:10:20\n--8<--",
    ):
        assert blocks.section_refs(body) is None, body
    with pytest.raises(KeyError):
        blocks.section("snippets/client.py", "no-such-section")
