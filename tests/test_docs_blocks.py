"""Every code block on every page, proven: Python, JSON, curl, shell commands,
HTTP.

The blocks are read from the built site (what a reader copies) and paired with
their fences in ``docs/``. Each kind of block has its checks below, and
``test_every_block_is_claimed`` fails on any block that no check claims. The
markers pages use (``data-schema``, ``data-response``, ``data-expect``,
``data-receiver``, ``data-fragment``) are described in ``tests/blocks.py``.
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
from tests import blocks
from tests.blocks import Block, Command, Curl, CurlError
from tests.fake_api import TEST_API_KEY, FakeApi, Response, Shipment

PAGES = blocks.source_pages()
API_KEY_HEADER = f"API-Key: ${settings.API_KEY_ENV}"
VOLATILE_KEYS = re.compile(
    r"(^|_)id$"
)  # ids differ between runs of the same call
TIMESTAMP = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$"
)


@pytest.fixture(scope="module")
def site_blocks(built_site: Path) -> dict[str, list[Block]]:
    return blocks.site_blocks(built_site)


def all_blocks(site_blocks: dict[str, list[Block]]) -> list[Block]:
    return [block for page in site_blocks.values() for block in page]


# ---------------------------------------------------------------- the fake API
def documented_fake() -> FakeApi:
    """The fake a page's curls are replayed against: empty, plus the site's
    sample
    shipment, so the tracking examples find the package the pages talk
    about."""
    fake = FakeApi(api_key=TEST_API_KEY, base_url=settings.API_BASE)
    track = payloads.TRACK_DATA
    carrier = (
        payloads.RESOURCE_PATHS["track"]
        .split("carrier_code=")[1]
        .split("&")[0]
    )
    fake.add_shipment(
        Shipment(
            carrier_code=carrier,
            tracking_number=track["tracking_number"],
            ship_date=track["ship_date"],
            estimated_delivery_date=track["estimated_delivery_date"],
            events=[{**event, "at": 0} for event in reversed(track["events"])],
        )
    )
    return fake


def fake_routes(method: str, path: str) -> bool:
    fake = FakeApi()
    fake.jwks = {"keys": []}  # the JWKS route exists once keys are published
    return fake._route(method, path) is not None


# ---------------------------------------------------------------- claims
def curls_in(block: Block) -> list[Command]:
    return [c for c in blocks.commands(block.text) if c.words[:1] == ["curl"]]


def is_api_url(url: str) -> bool:
    return url == settings.API_BASE or url.startswith(settings.API_BASE + "/")


def is_receiver_url(url: str) -> bool:
    return bool(re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?/", url))


SHELL_PROGRAMS = {
    "python",
    "python3",
    "flask",
    "uvicorn",
    "mkdocs",
    "pytest",
    "make",
}
SHELL_PROGRAMS |= {"pip", "export"}


def claim_command(block: Block, command: Command) -> str | None:
    if command.words[:1] == ["curl"]:
        try:
            curl = blocks.parse_curl(command.words, {})
        except CurlError:
            curl = None
        url = (
            next(
                (w for w in command.words[1:] if re.match(r"^https?://", w)),
                "",
            )
            if curl is None
            else curl.url
        )
        if is_api_url(url):
            return "curl to the API"
        if is_receiver_url(url) and "data-receiver" in block.attrs:
            return "curl to a local receiver"
        return None
    if not command.words and command.env:
        return "shell: environment"
    if command.words and command.words[0] in SHELL_PROGRAMS:
        return f"shell: {command.words[0]}"
    return None


def claim(block: Block) -> str | None:
    """The kind of check that proves ``block``, or None when none does."""
    if block.lang == "python":
        if "data-fragment" in block.attrs:
            return "python fragment"
        if block.source and blocks.section_refs(block.source.body):
            return "python from snippet sections"
        return None
    if block.lang == "json":
        return (
            "json"
            if block.attrs.get("data-schema") in schemas.SCHEMAS
            else None
        )
    if transcript_status(block) is not None:
        return "curl output"
    if block.lang == "http":
        return "http request" if http_request(block) else None
    if block.lang in ("bash", "sh", "shell", "console"):
        try:
            found = blocks.commands(block.text)
        except ValueError:
            return None
        kinds = [claim_command(block, command) for command in found]
        if not found or None in kinds:
            return None
        if any(k and k.startswith("curl") for k in kinds):
            return "curl"
        return "shell commands"
    return None


def transcript_status(block: Block) -> int | None:
    """The status of a block that shows what a curl printed (``HTTP/1.1 409
    ...``)."""
    if block.lang not in ("text", "console", "http", ""):
        return None
    match = re.match(r"\s*HTTP/[\d.]+ (\d{3})\b", block.text)
    return int(match[1]) if match else None


def http_request(block: Block) -> tuple[str, str, dict[str, str]] | None:
    lines = block.text.strip().splitlines()
    match = (
        re.match(r"^(GET|POST|PUT|DELETE|PATCH) (\S+)$", lines[0])
        if lines
        else None
    )
    if not match:
        return None
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            return None
        headers[name.strip()] = value.strip()
    return match[1], match[2], headers


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
        sources = blocks.fences((blocks.DOCS / page).read_text())
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
        text = (blocks.DOCS / page).read_text()
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


# ---------------------------------------------------------------------- curl
def expected_statuses(block: Block, count: int) -> list[int | None]:
    """One expected status per curl of the block; None means any 2xx."""
    marker = block.attrs.get("data-expect")
    if marker is None:
        return [None] * count
    statuses = [int(s) for s in re.split(r"[\s,]+", marker.strip())]
    assert len(statuses) == count, (
        f"{block}: data-expect gives {marker!r}, {count} curls"
    )
    return statuses  # type: ignore[return-value]


def status_problem(
    where: str, got: int, expected: int | None, body: Any
) -> str | None:
    if expected is None and not 200 <= got < 300:
        return f"{where}: answered {got}, the page shows it succeeding: {body}"
    if expected is not None and got != expected:
        return f"{where}: answered {got}, the page says {expected}: {body}"
    return None


def body_facts(document: Any, where: str) -> list[str]:
    """Event values, status codes and resource types anywhere in a JSON
    body."""
    from snippets import catalog

    problems = []
    known = {
        "event": catalog.EVENT_VALUES,
        "status_code": catalog.STATUS_CODES,
        "resource_type": {e.resource_type for e in catalog.EVENTS},
    }
    if isinstance(document, dict):
        for key, value in document.items():
            if (
                key in known
                and isinstance(value, str)
                and value not in known[key]
            ):
                problems.append(f"{where}: {key} {value!r} is not a real one")
            problems += body_facts(value, where)
    elif isinstance(document, list):
        for item in document:
            problems += body_facts(item, where)
    return problems


def same_answer(shown: Any, actual: Any, where: str = "") -> list[str]:
    """How ``shown`` differs from ``actual`` (ids and timestamps: only their
    type)."""
    if isinstance(shown, dict) and isinstance(actual, dict):
        problems = []
        if shown.keys() != actual.keys():
            problems.append(
                f"{where or '(root)'}: keys {sorted(shown)} != {sorted(actual)}"
            )
        for key in shown.keys() & actual.keys():
            path = f"{where}/{key}"
            if VOLATILE_KEYS.search(key) and type(shown[key]) is type(
                actual[key]
            ):
                continue
            problems += same_answer(shown[key], actual[key], path)
        return problems
    if isinstance(shown, list) and isinstance(actual, list):
        if len(shown) != len(actual):
            return [f"{where}: {len(shown)} items != {len(actual)}"]
        return [
            p
            for n, (a, b) in enumerate(zip(shown, actual, strict=True))
            for p in same_answer(a, b, f"{where}/{n}")
        ]
    both_times = all(
        isinstance(v, str) and TIMESTAMP.match(v) for v in (shown, actual)
    )
    if shown != actual and not both_times:
        return [f"{where or '(root)'}: {shown!r} != {actual!r}"]
    return []


def replay_api(fake: FakeApi, curl: Curl) -> Response:
    headers = dict(curl.headers)
    return fake.handle(
        curl.method,
        curl.path,
        curl.query,
        headers,
        (curl.body or "").encode(),
    )


def receiver_client(target: str) -> Callable[[Curl], tuple[int, bytes]]:
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    app = getattr(module, attribute or "app")
    if hasattr(app, "test_client"):  # Flask
        client = app.test_client()

        def send(curl: Curl) -> tuple[int, bytes]:
            answer = client.open(
                curl.path,
                method=curl.method,
                headers=curl.headers,
                data=(curl.body or "").encode(),
                query_string=curl.query,
            )
            return answer.status_code, answer.data

        return send
    from starlette.testclient import TestClient  # ASGI apps (FastAPI)

    asgi = TestClient(app)

    def send_asgi(curl: Curl) -> tuple[int, bytes]:
        answer = asgi.request(
            curl.method,
            curl.path,
            headers=curl.headers,
            content=(curl.body or "").encode(),
            params=curl.query,
        )
        return answer.status_code, answer.content

    return send_asgi


ANSWERS = {
    "webhook",
    "webhook_list",
    "error",
    "tracking_info",
}  # schemas of answers


def replay_page(page_blocks: list[Block]) -> tuple[list[str], int]:
    """Replay a page's curls in order against one fake; compare shown
    answers."""
    fake = documented_fake()
    variables = {settings.API_KEY_ENV: TEST_API_KEY}
    problems: list[str] = []
    replayed = 0
    last: tuple[str, Response] | None = None
    # The last curl of any kind: its status
    printed: tuple[str, int] | None = None
    previous: Block | None = None
    for block in page_blocks:
        after_curl, previous = (
            previous is not None and claim(previous) == "curl",
            block,
        )
        if (
            after_curl
            and block.lang == "json"
            and block.attrs.get("data-schema") in ANSWERS
            and "data-response" not in block.attrs
        ):
            problems.append(
                f"{block}: an answer right after a curl; mark it data-response"
            )
        shown = transcript_status(block)
        if shown is not None:
            if printed is None:
                problems.append(f"{block}: curl output with no curl above it")
            elif printed[1] != shown:
                problems.append(
                    f"{block} shows {shown}; {printed[0]} answers {printed[1]}"
                )
            continue
        if block.lang == "json" and "data-response" in block.attrs:
            if last is None:
                problems.append(
                    f"{block}: a response with no API curl above it"
                )
                continue
            where, answer = last
            problems += [
                f"{block} (the answer to {where}): {p}"
                for p in same_answer(json.loads(block.text), answer.body)
            ]
            continue
        if claim(block) != "curl":
            continue
        found = curls_in(block)
        for number, (command, expected) in enumerate(
            zip(found, expected_statuses(block, len(found)), strict=True)
        ):
            where = f"{block} curl {number + 1}"
            try:
                curl = blocks.parse_curl(command.words, variables)
            except CurlError as error:
                problems.append(f"{where}: {error}")
                continue
            content_type = curl.headers.get("Content-Type", "")
            if curl.body is not None and "json" in content_type:
                try:
                    problems += body_facts(json.loads(curl.body), where)
                except ValueError:
                    problems.append(f"{where}: the -d body is not JSON")
            replayed += 1
            if is_api_url(curl.url):
                if API_KEY_HEADER not in command.words and curl.path != (
                    settings.JWKS_PATH
                ):
                    problems.append(f"{where}: send -H {API_KEY_HEADER!r}")
                before = len(fake.unexpected)
                answer = replay_api(fake, curl)
                if len(fake.unexpected) > before:
                    problems.append(
                        f"{where}: the API has no {curl.method} {curl.path}"
                    )
                problem = status_problem(
                    where, answer.status, expected, answer.body
                )
                last, printed = (where, answer), (where, answer.status)
            else:
                status, body = receiver_client(block.attrs["data-receiver"])(
                    curl
                )
                problem = status_problem(where, status, expected, body[:200])
                printed = (where, status)
                try:
                    last = (
                        where,
                        Response(status, json.loads(body) if body else None),
                    )
                except ValueError:
                    last = (
                        where,
                        Response(status, body.decode(errors="replace")),
                    )
            if problem:
                problems.append(problem)
    return problems, replayed


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


# ------------------------------------------------------------ shell commands
@cache
def help_text(*program: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *program, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=blocks.ROOT,
    )
    return result.stdout + result.stderr if result.returncode == 0 else ""


def option_problems(options: list[str], *program: str) -> list[str]:
    text = help_text(*program)
    if not text:
        return [f"`{' '.join(program)} --help` fails"]
    return [
        f"`{' '.join(program)}` has no option {option}"
        for option in options
        if not re.search(
            rf"(?<![\w-]){re.escape(option.split('=')[0])}(?![\w-])", text
        )
    ]


def env_names() -> set[str]:
    return {
        n
        for n in blocks.code_vocabulary()
        if re.fullmatch(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+", n)
    }


def import_target(target: str, default: str) -> str | None:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        return f"cannot import {module_name}: {error}"
    if not hasattr(module, attribute or default):
        return f"{module_name} has no {attribute or default}"
    return None


def makefile_targets() -> set[str]:
    text = (blocks.ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.MULTILINE))


def pyproject_extras() -> set[str]:
    import tomllib

    project = tomllib.loads((blocks.ROOT / "pyproject.toml").read_text())[
        "project"
    ]
    return set(project.get("optional-dependencies", {}))


def pip_problems(args: list[str]) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    if args[:1] != ["install"]:
        return [f"pip {' '.join(args[:1])}: only `pip install` is checked"]
    problems = []
    for arg in args[1:]:
        if arg in ("-U", "--upgrade", "-q", "--quiet", "-e", "--editable"):
            continue
        local = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", arg)
        if local:
            missing = (
                set((local[1] or "").split(",")) - {""} - pyproject_extras()
            )
            problems += [f"pyproject.toml has no extra {m!r}" for m in missing]
            continue
        try:
            requirement = Requirement(arg)
        except InvalidRequirement:
            problems.append(f"pip install: {arg!r} is not a requirement")
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            problems.append(
                f"pip install {arg}: {requirement.name} is not a dependency"
            )
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            problems.append(f"pip install {arg}: the suite runs {installed}")
    return problems


def command_problems(command: Command) -> list[str]:
    """Why a shell command would not work as written (empty when it would)."""
    problems = [
        f"{name} is not a variable the examples read"
        for name in command.env
        if name not in env_names()
    ]
    words = command.words
    if not words:
        return problems
    program, args = words[0], words[1:]
    options = [a for a in args if a.startswith("-")]
    if program == "export":
        names = [a.partition("=")[0] for a in args]
        return problems + [
            f"{n} is not a variable the examples read"
            for n in names
            if n not in env_names()
        ]
    if program in ("python", "python3"):
        if args[:1] != ["-m"] or len(args) < 2:
            return [
                *problems,
                f"`{command.text}`: only `python -m module` is checked",
            ]
        module, rest = args[1], args[2:]
        if module == "pip":
            return problems + pip_problems(rest)
        if importlib.util.find_spec(module) is None:
            return [*problems, f"no module {module}"]
        flags = [a for a in rest if a.startswith("-")]
        return problems + (option_problems(flags, module) if flags else [])
    if program == "pip":
        return problems + pip_problems(args)
    if program == "flask":
        app = next(
            (args[i + 1] for i, a in enumerate(args[:-1]) if a == "--app"),
            None,
        )
        if app is None:
            return [*problems, "flask without --app"]
        problem = import_target(app, "app")
        after = args[args.index("run") + 1 :] if "run" in args else []
        if "run" not in args:
            problems.append("flask: only `flask --app ... run` is checked")
        flags = [a for a in after if a.startswith("-")]
        return (
            problems
            + ([problem] if problem else [])
            + (option_problems(flags, "flask", "run") if flags else [])
        )
    if program == "uvicorn":
        targets = [a for a in args if not a.startswith("-") and ":" in a]
        if len(targets) != 1:
            return [*problems, "uvicorn needs exactly one module:app"]
        problem = import_target(targets[0], "app")
        return (
            problems
            + ([problem] if problem else [])
            + (option_problems(options, "uvicorn") if options else [])
        )
    if program == "mkdocs":
        sub = args[0] if args else ""
        if sub not in ("serve", "build", "gh-deploy"):
            return [
                *problems,
                f"mkdocs {sub}: not a command this project uses",
            ]
        return problems + option_problems(options, "mkdocs", sub)
    if program == "pytest":
        paths = [a.split("::")[0] for a in args if not a.startswith("-")]
        problems += [
            f"pytest: no {p}" for p in paths if not (blocks.ROOT / p).exists()
        ]
        return problems + (
            option_problems(options, "pytest") if options else []
        )
    if program == "make":
        targets = [a for a in args if not a.startswith("-")]
        return problems + [
            f"make: no target {t}"
            for t in targets
            if t not in makefile_targets()
        ]
    return [*problems, f"`{program}` is not a command the checks know"]


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
        "pytest tests/test_no_such_file.py",
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
