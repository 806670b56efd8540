"""What proves each kind of block, and the check for each.

A block is claimed by exactly one kind, from its language and markers:

``python``
    Named sections of ``snippets/`` (the fence holds only ``--8<--`` lines),
    titled with the program it belongs to, which the page offers for
    download. The block's code is a part of that program, its imports are
    among the program's, ruff finds no undefined or unused name in it, and a
    helper it uses from another page is named and linked on the page.
``json``
    ``data-schema`` names a schema of ``snippets.schemas``; the block parses
    and matches it. ``data-response`` makes it the answer to the curl above.
``shell``
    Every command is one the checks know (``shell.py``); curl and export
    blocks are replayed (``replay.py``). Every ``$NAME`` is set on the page
    before it is used, and so is every variable a program run on the page
    needs.
``transcript``
    ``HTTP/1.1 404 NOT FOUND``: the status the curl above it got.
``http``
    ``METHOD path`` and header lines: a route the API serves.
``sql``
    Run by psql in a fresh database of the test cluster
    (``tests/support/postgres.py``) once the PostgreSQL inbox has created
    its table: every statement succeeds.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ruff import find_ruff_bin

from docs._hooks import build, programs
from snippets import schemas, settings
from snippets.inbox_postgres import PostgresInbox
from tests.support import postgres, replay, shell
from tests.support.fake_api import FakeApi
from tests.support.site import Block, BuiltSite, raw_markdown, written_fences

VOLATILE = re.compile(r"(^|_)id$")  # ids differ between runs of one call
TIMESTAMP = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$"
)
# The binary itself, not ``python -m ruff``: a Python start (60 ms) saved per
# block, and the site has over a hundred Python blocks.
RUFF = find_ruff_bin()
ANSWERS = {"webhook", "webhook_list", "error", "tracking_info"}
TRANSCRIPT = re.compile(r"\s*HTTP/[\d.]+ (\d{3})\b")
HTTP_REQUEST = re.compile(r"^(GET|POST|PUT|DELETE|PATCH) (\S+)$")


# ------------------------------------------------------------------- claims
def transcript_status(block: Block) -> int | None:
    if block.lang not in ("text", "console", ""):
        return None
    match = TRANSCRIPT.match(block.text)
    return int(match[1]) if match else None


def _embedded(block: Block) -> bool:
    """Written as named sections of ``snippets/`` (the build embeds them)."""
    fence = written_fences(block.page).get(_line(block))
    return bool(fence and programs.section_refs(fence.body))


# Each language's claim: the kind of check, if the block is written as that
# kind must be. Shell languages and plain text are claimed below.
CLAIMS: dict[str, Callable[[Block], str | None]] = {
    "python": lambda b: "python" if _embedded(b) else None,
    "nginx": lambda b: "config" if _embedded(b) else None,  # see nginx -t
    "json": lambda b: (
        "json" if b.attrs.get("data-schema") in schemas.SCHEMAS else None
    ),
    "http": lambda b: "http",
    "sql": lambda b: "sql",
}


# Pages whose printed outputs a test of their own compares with what ran.
OUTPUTS = {"quickstart.md": "tests/site/test_quickstart.py"}


def kind(block: Block) -> str | None:
    """The kind of check that proves ``block``, or None: unclaimed."""
    if block.lang in CLAIMS:
        return CLAIMS[block.lang](block)
    if "data-output" in block.attrs and block.page in OUTPUTS:
        return "output"
    if transcript_status(block) is not None:
        return "transcript"
    return "shell" if block.lang in replay.SHELL_LANGS else None


def _line(block: Block) -> int:
    return int(block.line) if block.line.isdigit() else -1


# ---------------------------------------------------------------- page facts
@dataclass
class Page:
    """What the checks of one page's blocks need to know about the site."""

    site: BuiltSite
    name: str
    replay: replay.PageReplay | None = None

    @property
    def blocks(self) -> list[Block]:
        return self.site.blocks(self.name)

    @property
    def downloads(self) -> dict[str, Any]:
        """The programs the page offers (its download boxes), by name."""
        markdown = raw_markdown(self.name)
        return {
            name: self.site.download(name)
            for match in build.DOWNLOAD.finditer(markdown)
            for name in match["names"].split()
        }

    def variables(self) -> set[str]:
        """The variables a reader of the page may set: those the page's
        programs read and those its shell blocks use."""
        names = {settings.API_KEY_ENV}
        for path in self.downloads.values():
            needed, optional = shell.download_variables(path)
            names |= needed | optional
        for block in self.blocks:
            if block.lang in replay.SHELL_LANGS:
                for command in _commands(block):
                    names |= set(command.variables)
        return names


def _commands(block: Block) -> list[shell.Command]:
    try:
        return shell.commands(block.code)
    except ValueError:
        return []


# -------------------------------------------------------------------- python
@cache  # a page's blocks and programs are read once per block of the page
def _top_level_names(code: str) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.parse(code).body:
        if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(
            node.target, ast.Name
        ):
            names.add(node.target.id)
    return frozenset(names)


@cache
def _imports(code: str) -> frozenset[tuple[str, str]]:
    pairs = set()
    for node in ast.parse(code).body:
        if isinstance(node, ast.Import):
            pairs |= {("", a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            pairs |= {(node.module or "", a.name) for a in node.names}
    return frozenset(pairs)


def _split(code: str) -> tuple[str, str]:
    """A block's import lines and the code after them."""
    tree = ast.parse(code)
    body = [
        n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)
    ]
    if not body:
        return code, ""
    first = body[0]
    start = (
        first.decorator_list[0].lineno
        if isinstance(
            first, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        )
        and first.decorator_list
        else first.lineno
    )
    lines = code.split("\n")
    return "\n".join(lines[: start - 1]), "\n".join(lines[start - 1 :])


def _part_of(code: str, program: str) -> bool:
    """Whether ``code``'s lines stand, in order and together, in
    ``program``, at any one indentation (a method shown on its own is
    dedented)."""
    lines = code.strip("\n").split("\n")
    whole = program.split("\n")
    first = lines[0]
    for start, line in enumerate(whole):
        if not line.endswith(first) or line.strip() != first.strip():
            continue
        indent = line[: len(line) - len(first)]
        window = whole[start : start + len(lines)]
        if [w.removeprefix(indent) if w.strip() else "" for w in window] == [
            ln if ln.strip() else "" for ln in lines
        ]:
            return True
    return False


def _bound_in(tree: ast.AST) -> set[str]:
    """Names the code binds itself: arguments, locals, loop variables."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    return bound


def ruff_problems(code: str, builtins: set[str]) -> list[str]:
    """ruff's F rules on ``code`` alone, with ``builtins`` taken as defined."""
    names = ", ".join(f'"{n}"' for n in sorted(builtins))
    result = subprocess.run(
        [RUFF, "check", "--isolated", "--select", "F",
         "--target-version", "py311", "--output-format", "concise",
         "--config", f"builtins = [{names}]", "--stdin-filename", "block.py",
         "-"],
        input=code, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return [
        line.split(":", 3)[-1].strip()
        for line in result.stdout.splitlines()
        if line.startswith("block.py:")
    ]


@cache
def shown_names(site: BuiltSite) -> dict[str, set[str]]:
    """For every function and class a Python block on the site defines, the
    pages whose blocks define it. (A module constant or logger is named in
    the prose where it is used, not linked to the page that happens to show
    another program's copy of it.)"""
    from tests.support.site import pages

    helpers = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    shown: dict[str, set[str]] = {}
    for page in pages():
        for block in site.blocks(page):
            if block.lang == "python":
                for node in ast.parse(block.code).body:
                    if isinstance(node, helpers):
                        shown.setdefault(node.name, set()).add(page)
    return shown


def _links(site: BuiltSite, page: str) -> set[str]:
    from tests.support.site import article

    targets = set()
    for link in article(site.soup(page)).find_all("a", href=True):
        href = link["href"].split("#")[0].strip("./")
        targets.add(href.removesuffix("/") + ".md" if href else page)
    return targets


def python_problems(block: Block, page: Page) -> list[str]:
    if block.title not in page.downloads:
        offered = ", ".join(sorted(page.downloads)) or "none"
        return [
            f"titled {block.title!r}: not a download of the page ({offered})"
        ]
    download = page.downloads[block.title].read_text()
    imports, code = _split(block.code)
    problems = []
    # A lazy import of a sibling module reads ``from snippets.x`` in the
    # repository and ``from x`` in the download (programs.SIBLING_IMPORT).
    code = "\n".join(
        programs.SIBLING_IMPORT.sub(r"\g<indent>from \g<module> ", line)
        for line in code.split("\n")
    )
    if code.strip() and not _part_of(code, download):
        problems.append(f"its code is not a part of {block.title}")
    missing = _imports(imports) - _imports(download)
    problems += [
        f"{block.title} does not import {m} {n}" for m, n in sorted(missing)
    ]
    defined_here = _top_level_names(block.code)
    available = _top_level_names(download) - defined_here
    problems += ruff_problems(block.code, available)
    tree = ast.parse(block.code)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used -= _bound_in(tree)
    own = {
        name
        for other in page.blocks
        if other.lang == "python"
        for name in _top_level_names(other.code)
    }
    inline = set(page.site.inline_code(page.name))
    links = _links(page.site, page.name)
    shown = shown_names(page.site)
    for helper in sorted((used & available) - own):
        where = shown.get(helper, set()) - {page.name}
        if helper not in inline:
            problems.append(f"uses {helper}: name it in the prose")
        elif where and not where & links:
            problems.append(
                f"uses {helper} from another page: link to where it is "
                f"shown ({', '.join(sorted(where))})"
            )
    return problems


# ---------------------------------------------------------------------- json
def same_answer(shown: Any, actual: Any, where: str = "") -> list[str]:
    """How ``shown`` differs from ``actual`` (ids and timestamps: by type)."""
    if isinstance(shown, dict) and isinstance(actual, dict):
        problems = []
        if shown.keys() != actual.keys():
            problems.append(
                f"{where or '(root)'}: keys {sorted(shown)} != {sorted(actual)}"
            )
        for key in shown.keys() & actual.keys():
            if VOLATILE.search(key) and type(shown[key]) is type(actual[key]):
                continue
            problems += same_answer(shown[key], actual[key], f"{where}/{key}")
        return problems
    if isinstance(shown, list) and isinstance(actual, list):
        if len(shown) != len(actual):
            return [f"{where}: {len(shown)} items != {len(actual)}"]
        return [
            p
            for n, (a, b) in enumerate(zip(shown, actual, strict=True))
            for p in same_answer(a, b, f"{where}/{n}")
        ]
    times = all(
        isinstance(v, str) and TIMESTAMP.match(v) for v in (shown, actual)
    )
    if shown != actual and not times:
        return [f"{where or '(root)'}: {shown!r} != {actual!r}"]
    return []


def json_problems(block: Block, page: Page) -> list[str]:
    name = block.attrs["data-schema"]
    try:
        document = json.loads(block.text)
    except ValueError as error:
        return [f"not JSON: {error}"]
    problems = schemas.problems(name, document)
    before = page.blocks[: page.blocks.index(block)]
    after_curl = (
        bool(before)
        and replay.replayed(before[-1])
        and bool(replay.curls(before[-1]))
    )
    if "data-response" not in block.attrs:
        if after_curl and name in ANSWERS:
            problems.append(
                "an answer right after a curl: mark it data-response"
            )
        return problems
    answer = page.replay.last_api_answer(block) if page.replay else None
    if answer is None:
        return [*problems, "a response with no API curl above it"]
    where, call = answer
    return problems + [
        f"(the answer to {where}) {p}"
        for p in same_answer(document, call.answer)
    ]


# ---------------------------------------------------------- transcript, http
def transcript_problems(block: Block, page: Page) -> list[str]:
    shown = transcript_status(block)
    printed = page.replay.last_status(block) if page.replay else None
    if printed is None:
        return ["curl output with no curl above it"]
    if printed[1] != shown:
        return [f"shows {shown}; {printed[0]} answered {printed[1]}"]
    return []


def fake_routes(method: str, path: str) -> bool:
    fake = FakeApi()
    fake.jwks = {"keys": []}  # the JWKS route exists once keys are published
    return fake.route(method, path) is not None


def http_problems(block: Block, page: Page) -> list[str]:
    lines = block.text.strip().splitlines()
    match = HTTP_REQUEST.match(lines[0]) if lines else None
    if not match:
        return ["not `METHOD target` then `Header: value` lines"]
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    if len(headers) != len(lines) - 1:
        return ["a header line without a colon"]
    method, target = match.groups()
    host = headers.get("Host", "").strip()
    if target.startswith("/"):
        if f"https://{host}" != settings.API_BASE:
            return [f"Host {host!r} is not the API's"]
        target = settings.API_BASE + target
    if not target.startswith(settings.API_BASE + "/"):
        return [f"{target} is not on {settings.API_BASE}"]
    path = target.removeprefix(settings.API_BASE).split("?")[0]
    if not fake_routes(method, path):
        return [f"the API has no {method} {path}"]
    allowed = {"API-Key", "Content-Type", "Host"}
    return [
        f"header {h} is not one the API reads" for h in set(headers) - allowed
    ]


# --------------------------------------------------------------------- shell
def _set_before(block: Block, page: Page) -> set[str]:
    """Variables the page's shell blocks export above ``block``."""
    names: set[str] = set()
    for earlier in page.blocks[: page.blocks.index(block)]:
        if earlier.lang in replay.SHELL_LANGS:
            for command in _commands(earlier):
                names |= _exports(command)
    return names


def _exports(command: shell.Command) -> set[str]:
    if command.program == "export":
        return {a.partition("=")[0] for a in command.words[1:]}
    return set(command.env) if not command.words else set()


def shell_problems(block: Block, page: Page) -> list[str]:
    try:
        found = shell.commands(block.code)
    except ValueError as error:
        return [str(error)]
    if not found:
        return ["no command"]
    context = shell.Context(page.name, page.downloads, page.variables())
    known = _set_before(block, page)
    problems = []
    for command in found:
        problems += [
            f"`{command.text}`: {p}" for p in shell.problems(command, context)
        ]
        unset = [v for v in command.variables if v not in known]
        problems += [
            f"`{command.text}`: ${v} is not set above it" for v in unset
        ]
        if command.program in ("python", "python3") and command.words[1:2]:
            path = page.downloads.get(command.words[1])
            needed = shell.download_variables(path)[0] if path else set()
            problems += [
                f"`{command.text}`: set {v} on the page before it"
                for v in sorted(needed - known)
            ]
        known |= _exports(command)
    run = page.replay.runs.get(block.line) if page.replay else None
    if run is not None:
        problems += replay.problems(block, run)
    elif any(c.program == "curl" for c in found):
        problems.append("curl with other commands: keep curl blocks to curl")
    return problems


def config_problems(block: Block, page: Page) -> list[str]:
    """A configuration file embedded from ``snippets/``: the build checked
    that its section exists; its own test runs the server's config check."""
    return [] if block.text.strip() else ["an empty configuration"]


def output_problems(block: Block, page: Page) -> list[str]:
    """What a command prints: ``OUTPUTS`` names the test that runs the page's
    commands and compares; here, only that the block says something."""
    return [] if block.text.strip() else ["an empty output"]


def sql_problems(block: Block, page: Page) -> list[str]:
    cluster = postgres.cluster()
    database = cluster.fresh_database()
    PostgresInbox(database, pool_size=1).close()  # the inbox's table
    result = cluster.psql(database, block.code)
    return [result.stderr.strip()] if result.returncode else []


CHECKS = {
    "output": output_problems,
    "config": config_problems,
    "python": python_problems,
    "json": json_problems,
    "transcript": transcript_problems,
    "http": http_problems,
    "shell": shell_problems,
    "sql": sql_problems,
}


def block_problems(block: Block, page: Page) -> list[str]:
    """Everything wrong with one block; [] when it is proven."""
    claimed = kind(block)
    if claimed is None:
        return [f"no check claims a {block.lang or 'plain'} block like this"]
    return CHECKS[claimed](block, page)
