"""The block checker's machinery: claims, curl replay, shell commands.

The tests that use it are in ``tests/site/``.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from snippets import payloads, schemas, settings
from tests.support import blocks
from tests.support.blocks import Block, Command, Curl, CurlError
from tests.support.fake_api import TEST_API_KEY, FakeApi, Response, Shipment
from tests.support.paths import ROOT

API_KEY_HEADER = f"API-Key: ${settings.API_KEY_ENV}"


VOLATILE_KEYS = re.compile(
    r"(^|_)id$"
)  # ids differ between runs of the same call


TIMESTAMP = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$"
)


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


SHELL_PROGRAMS |= {"pip", "export", "gunicorn"}


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
    if block.lang == "nginx":  # proven by nginx -t (test_receive_production)
        return "nginx config" if block.source else None
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


# ------------------------------------------------------------ shell commands
@cache
def help_text(*program: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *program, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
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
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.MULTILINE))


def pyproject_extras() -> set[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
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
    if program == "gunicorn":
        targets = [
            a for a in args if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", a)
        ]
        if len(targets) != 1:
            return [*problems, "gunicorn needs exactly one module:app"]
        problem = import_target(targets[0], "app")
        return (
            problems
            + ([problem] if problem else [])
            + (option_problems(options, "gunicorn") if options else [])
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
            f"pytest: no {p}" for p in paths if not (ROOT / p).exists()
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
