"""Facts a page states in inline code, and whether each is real.

Prose names things in ``code``: event values, tracking status codes,
resource types, API paths, header names, HTTP statuses, error codes,
commands, names from the code. Each kind has a pattern and a check; the first
pattern that matches a piece of inline code decides how it is checked, and
text no pattern matches is prose, not a fact.
"""

from __future__ import annotations

import argparse
import ast
import re
import shlex
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from pathlib import Path

from snippets import catalog, schemas, settings
from tests.support import shell
from tests.support.fake_api import FakeApi
from tests.support.paths import ROOT

Check = Callable[[re.Match[str], shell.Context], str | None]
# Words in inline code that are neither API values nor names from the code.
PROSE_WORDS = {"localhost", "https", "http", "json", "true", "false", "null"}
SPELLINGS = {413: {"Content Too Large"}, 422: {"Unprocessable Content"}}
COMMANDS = ("python", "python3", "pip", "flask", "uvicorn", "pytest", "export")


def fake_routes(method: str, path: str) -> bool:
    fake = FakeApi()
    fake.jwks = {"keys": []}  # the JWKS route exists once keys are published
    return fake.route(method, path) is not None


def is_api_url(url: str) -> bool:
    return url == settings.API_BASE or url.startswith(settings.API_BASE + "/")


@cache
def code_vocabulary(root: Path = ROOT) -> frozenset[str]:
    """Every name and string in snippets/ and in the fake API."""
    names: set[str] = set()
    files = [
        *sorted((root / "snippets").glob("*.py")),
        root / "tests" / "support" / "fake_api.py",
    ]
    for path in files:
        names.add(path.stem)
        for node in ast.walk(ast.parse(path.read_text())):
            names |= _names(node)
    # The server configurations shipped beside the programs: their
    # directives (the first word of each line) are names the code uses.
    for path in sorted((root / "snippets").glob("*.conf")):
        for line in path.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if words:
                names.add(words[0])
    return frozenset(names)


def _names(node: ast.AST) -> set[str]:
    match node:
        case ast.Name(id=name) | ast.Attribute(attr=name) | ast.arg(arg=name):
            return {name}
        case ast.FunctionDef(name=name) | ast.ClassDef(name=name):
            return {name}
        case ast.alias(name=name, asname=alias):
            return {*(alias or name).split("."), *name.split(".")}
        case ast.Constant(value=str() as value):
            return {value}
        case ast.keyword(arg=str() as name):
            return {name}
    return set()


def _schema_fields(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found |= set(value)
            found |= _schema_fields(value)
    elif isinstance(node, list):
        for item in node:
            found |= _schema_fields(item)
    return found


def catalog_values() -> set[str]:
    return (
        catalog.EVENT_VALUES
        | catalog.STATUS_CODES
        | catalog.ERROR_CODES
        | {e.resource_type for e in catalog.EVENTS}
    )


def vocabulary() -> set[str]:
    return (
        set(code_vocabulary())
        | _schema_fields(schemas.SCHEMAS)
        | set(schemas.SCHEMAS)
        | catalog_values()
        | PROSE_WORDS
    )


# -------------------------------------------------------------------- checks
def status_code_fact(match: re.Match[str], _: shell.Context) -> str | None:
    code = match[0]
    return (
        None if code in catalog.STATUS_CODES else f"`{code}`: no such status"
    )


def resource_type_fact(match: re.Match[str], _: shell.Context) -> str | None:
    types = {e.resource_type for e in catalog.EVENTS}
    if match[0] in types or match[0] in code_vocabulary():  # API_BASE
        return None
    return f"`{match[0]}`: no such resource_type"


def endpoint_fact(match: re.Match[str], _: shell.Context) -> str | None:
    method, target = match["method"], match["target"]
    if target.startswith("/") and not target.startswith("/v"):
        return None  # a path on the reader's own server, such as /webhooks
    if target.startswith("http") and not is_api_url(target):
        return None
    path = target.removeprefix(settings.API_BASE).split("?")[0]
    path = re.sub(r"\{[^}]+\}|<[^>]+>", "some-id", path)
    methods = [method] if method else ["GET", "POST", "PUT", "DELETE"]
    if any(fake_routes(m, path) for m in methods):
        return None
    return f"`{match[0]}`: the API has no such endpoint"


def header_fact(match: re.Match[str], _: shell.Context) -> str | None:
    headers = {
        settings.KEY_ID_HEADER,
        settings.SIGNATURE_HEADER,
        settings.TIMESTAMP_HEADER,
    }
    name = match[0].lower()
    return None if name in headers else f"`{match[0]}`: no such header"


CURL = argparse.ArgumentParser(
    prog="curl", add_help=False, exit_on_error=False
)
CURL.add_argument("-X", "--request", default=None)
for _flag in ("-i", "-s", "-S", "-G", "-f", "-L", "-v"):
    CURL.add_argument(_flag, action="store_true")
for _option in ("-H", "-d", "--data", "--json", "--data-raw"):
    CURL.add_argument(_option, action="append")
CURL.add_argument("url")


def curl_fact(match: re.Match[str], _: shell.Context) -> str | None:
    """``curl ...`` in prose: a route the API serves (argparse reads the
    options, clusters such as ``-sSX`` included)."""
    try:
        args, unknown = CURL.parse_known_args(shlex.split(match[0])[1:])
    except (argparse.ArgumentError, ValueError) as error:
        return f"`{match[0]}`: {error}"
    if unknown:
        return f"`{match[0]}`: curl has no option {unknown[0]}"
    method = args.request or ("POST" if args.d or args.data else "GET")
    if is_api_url(args.url):
        path = args.url.removeprefix(settings.API_BASE).split("?")[0]
        if not fake_routes(method, path):
            return f"`{match[0]}`: the API has no {method} {path}"
    return None


def command_fact(match: re.Match[str], context: shell.Context) -> str | None:
    try:
        [command] = shell.commands(match[0])
    except ValueError as error:
        return f"`{match[0]}`: {error}"
    problems = shell.problems(command, context)
    return f"`{match[0]}`: {'; '.join(problems)}" if problems else None


def http_status_fact(match: re.Match[str], _: shell.Context) -> str | None:
    """``409``, ``409 Conflict``: a real status and its phrase; ``409
    webhook_event_type_conflict``: the status of that error code."""
    try:
        status = HTTPStatus(int(match["status"]))
    except ValueError:
        return f"`{match[0]}` is not an HTTP status"
    rest = match["rest"] or ""
    code = re.match(r"[a-z]+(?:_[a-z]+)+\b", rest)
    if code:
        if code[0] not in catalog.ERROR_CODES:
            return f"`{match[0]}`: {code[0]} is not an error code"
        expected = catalog.error(code[0]).status
        return None if expected == status else f"`{match[0]}`: a {expected}"
    phrase = re.fullmatch(r"(?:[A-Z][A-Za-z-]*)(?: [A-Z][A-Za-z-]*)*", rest)
    if phrase and rest not in {status.phrase, *SPELLINGS.get(status, ())}:
        return f"`{match[0]}`: {status.value} is {status.phrase}"
    return None


def name_fact(match: re.Match[str], _: shell.Context) -> str | None:
    if match[0] in vocabulary():
        return None
    return f"`{match[0]}`: not a name the API or the code uses"


FACTS: list[tuple[re.Pattern[str], Check]] = [
    (re.compile(r"[A-Z]{2}"), status_code_fact),
    (re.compile(r"API_[A-Z_]+"), resource_type_fact),
    (
        re.compile(
            r"(?:(?P<method>GET|POST|PUT|DELETE|PATCH) )?"
            rf"(?P<target>/v1/\S*|{re.escape(settings.API_BASE)}\S*)"
        ),
        endpoint_fact,
    ),
    (re.compile(r"x-[a-z0-9-]+", re.IGNORECASE), header_fact),
    (re.compile(r"curl .+", re.DOTALL), curl_fact),
    (re.compile(rf"(?:{'|'.join(COMMANDS)}) .+", re.DOTALL), command_fact),
    (
        re.compile(r"(?P<status>[1-5]\d\d)(?: (?P<rest>.+))?", re.DOTALL),
        http_status_fact,
    ),
    (re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"), name_fact),
]


def fact_problem(text: str, context: shell.Context) -> str | None:
    """What is wrong with a fact in inline code, if anything."""
    text = text.strip()
    for pattern, check in FACTS:
        match = pattern.fullmatch(text)
        if match:
            return check(match, context)
    return None
