"""The complete programs readers download, composed from ``snippets/``.

A page shows the few lines that answer its question; under them, the reader
downloads the whole program those lines belong to. Each program is made of
named sections of the modules in ``snippets/`` (the same sections the pages
embed), in the order given below, with one import block in front that holds
exactly what the sections use. Nothing in a program is typed twice: the
modules stay the one source, and ``gen_downloads.py`` writes the programs
into the built site.

A module's own ``from snippets...`` imports never reach a program: the
sections that define those names are parts of the same program. A lazy import
of a module that is a download of its own (``from snippets.x import y`` inside
a function) becomes ``from x import y``: the reader keeps that file beside
this one.
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import metadata
from inspect import getmodulename
from pathlib import Path

import markdown
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pymdownx.snippets import SnippetPreprocessor

from docs._hooks import memo

ROOT = Path(__file__).resolve().parents[2]
DOWNLOADS = "downloads"  # where programs live in the built site
ARCHIVE = "examples.zip"
ANNOTATION = re.compile(r"\s*# \(\d+\)!$")  # a Material code annotation
SIBLING_IMPORT = re.compile(r"^(?P<indent>\s*)from snippets\.(?P<module>\w+) ")


@dataclass(frozen=True)
class Program:
    """A file a reader downloads and runs alone."""

    name: str  # the file name, e.g. "create_webhook.py"
    page: str  # the page it belongs to, e.g. "create-webhook.md"
    parts: tuple[str, ...]  # "snippets/<module>.py:<section>", in order
    extra: str | None = None  # its own requirements (an optional extra)

    @property
    def module(self) -> Path:
        """The module in ``snippets/`` the program is named after."""
        return ROOT / "snippets" / self.name

    @property
    def requirements(self) -> str:
        """The requirements file a reader installs before running it."""
        return (
            f"requirements-{self.extra}.txt"
            if self.extra
            else ("requirements.txt")
        )


def _sections(module: str, names: str) -> tuple[str, ...]:
    return tuple(f"snippets/{module}.py:{name}" for name in names.split())


SETTINGS = "snippets/settings.py:settings"
SIGNATURES = "snippets/settings.py:signatures"
LIMITS = "snippets/settings.py:limits"
CLIENT = "snippets/client.py:client"
VERIFIER = "snippets/verify_signatures.py:verifier"
INBOX = "snippets/inbox.py:inbox"

PROGRAMS: tuple[Program, ...] = (
    Program(
        "webhooks_vs_apis.py",
        "webhooks-vs-apis.md",
        (SETTINGS, CLIENT, *_sections("webhooks_vs_apis", "poll push main")),
    ),
    Program(
        "create_webhook.py",
        "create-webhook.md",
        (SETTINGS, CLIENT, *_sections("create_webhook", "create ensure main")),
    ),
    Program(
        "status_codes.py",
        "status-codes.md",
        _sections("status_codes", "messages message main"),
    ),
    Program(
        "endpoint.py",
        "endpoint.md",
        _sections("endpoint", "receiver main"),
    ),
    Program(
        "client.py",
        "client.md",
        (SETTINGS, CLIENT, *_sections("client", "main")),
    ),
    Program(
        "manage_webhooks.py",
        "manage-webhooks.md",
        (
            SETTINGS,
            CLIENT,
            *_sections("manage_webhooks", "list get update delete main"),
        ),
    ),
    Program(
        "move_endpoint.py",
        "move-endpoint.md",
        (SETTINGS, CLIENT, *_sections("move_endpoint", "move relay main")),
    ),
    Program(
        "errors.py",
        "errors.md",
        (
            SETTINGS,
            CLIENT,
            *_sections("errors", "retry_after outcome run main"),
        ),
    ),
    Program(
        "testing.py",
        "testing.md",
        (
            SETTINGS,
            CLIENT,
            *_sections("create_webhook", "create ensure"),
            *_sections("testing", "tests"),
        ),
    ),
    Program(
        "payloads.py",
        "payloads.md",
        (SETTINGS, CLIENT, *_sections("payloads", "fetch main")),
    ),
    Program(
        "verify_signatures.py",
        "verify-signatures.md",
        (
            SETTINGS,
            SIGNATURES,
            VERIFIER,
            *_sections("verify_signatures", "vector main"),
        ),
    ),
    Program(
        "receive_flask.py",
        "receive.md",
        (
            SETTINGS,
            SIGNATURES,
            LIMITS,
            VERIFIER,
            INBOX,
            *_sections("receive_flask", "receiver main"),
        ),
    ),
    Program(
        "receive_fastapi.py",
        "receive.md",
        (
            SETTINGS,
            SIGNATURES,
            LIMITS,
            VERIFIER,
            INBOX,
            *_sections("receive_fastapi", "receiver main"),
        ),
    ),
    Program(
        "inbox.py",
        "inbox.md",
        _sections("inbox", "inbox handlers worker main"),
    ),
    Program(
        "delivery_semantics.py",
        "delivery-semantics.md",
        _sections("delivery_semantics", "order apply handle main"),
    ),
    Program(
        "send_test_event.py",
        "send-test-event.md",
        (
            SETTINGS,
            SIGNATURES,
            "snippets/payloads.py:samples",
            *_sections("send_test_event", "keys sign send main"),
        ),
    ),
    Program(
        "reconcile.py",
        "troubleshooting.md",
        (SETTINGS, CLIENT, INBOX, *_sections("reconcile", "catch-up main")),
    ),
    Program(
        "inbox_postgres.py",
        "inbox-postgres.md",
        (
            SETTINGS,
            *_sections("inbox", "settings unavailable news"),
            *_sections("inbox_postgres", "schema inbox watch main"),
        ),
        extra="postgres",
    ),
)


# ------------------------------------------------------------------ sections
@cache
def _snippets() -> SnippetPreprocessor:
    """pymdownx.snippets, configured as in mkdocs.yml, to read sections."""
    md = markdown.Markdown(
        extensions=["pymdownx.snippets"],
        extension_configs={
            "pymdownx.snippets": {
                "base_path": [str(ROOT)],
                "check_paths": True,
                "dedent_subsections": True,
            }
        },
    )
    preprocessor = md.preprocessors["snippet"]
    assert isinstance(preprocessor, SnippetPreprocessor)
    return preprocessor


def section(spec: str) -> str:
    """The text of ``path:name``, exactly as a page embeds it."""
    path, _, name = spec.partition(":")
    lines = (ROOT / path).read_text().split("\n")
    return "\n".join(_snippets().extract_section(name, lines))


def without_annotations(code: str) -> str:
    """``code`` without its ``# (1)!`` markers (the theme shows them as
    buttons; a program has no use for them)."""
    return "\n".join(ANNOTATION.sub("", line) for line in code.split("\n"))


# ------------------------------------------------------------------- imports
@lru_cache(maxsize=1024)
def _tree(source: str) -> ast.Module:
    """``ast.parse``, once per distinct source: a build composes each
    program twice (its page's box, its download) from the same modules, and
    parsing them again was a tenth of the build. Callers only read the
    tree."""
    return ast.parse(source)


def _bound(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def _module_imports(path: Path) -> list[ast.Import | ast.ImportFrom]:
    tree = _tree(path.read_text())
    return [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and not (
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
        )
    ]


def _is_ours(node: ast.Import | ast.ImportFrom) -> bool:
    names = (
        [node.module or ""]
        if isinstance(node, ast.ImportFrom)
        else [alias.name for alias in node.names]
    )
    return any(n == "snippets" or n.startswith("snippets.") for n in names)


def _used_names(code: str) -> set[str]:
    return {
        node.id for node in ast.walk(_tree(code)) if isinstance(node, ast.Name)
    }


def _sort_key(name: str) -> tuple[int, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then the rest."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name.lower())


def _from_line(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= 79:
        return line
    return "\n".join(
        [f"from {module} import (", *(f"    {n}," for n in names), ")"]
    )


def import_block(modules: list[Path], body: str) -> str:
    """The imports of ``modules`` that ``body`` uses, sorted as ruff does."""
    used = _used_names(body)
    plain: dict[str, set[str]] = {}  # module -> "import x" / "import x as y"
    froms: dict[str, set[str]] = {}  # module -> "name" / "name as alias"
    for path in modules:
        for node in _module_imports(path):
            if _is_ours(node):
                continue
            for alias in node.names:
                if _bound(alias) not in used:
                    continue
                text = alias.name + (
                    f" as {alias.asname}" if alias.asname else ""
                )
                if isinstance(node, ast.ImportFrom):
                    froms.setdefault(node.module or "", set()).add(text)
                else:
                    plain.setdefault(alias.name, set()).add(text)
    groups: list[list[str]] = [[], []]  # the standard library, then the rest
    for module in sorted(set(plain) | set(froms), key=str.lower):
        group = groups[module.split(".")[0] not in sys.stdlib_module_names]
        group += [f"import {text}" for text in sorted(plain.get(module, ()))]
    for module in sorted(froms, key=str.lower):
        group = groups[module.split(".")[0] not in sys.stdlib_module_names]
        names = sorted(froms[module], key=_sort_key)
        group.append(_from_line(module, names))
    return "\n\n".join("\n".join(g) for g in groups if g)


SECTION_REF = re.compile(r"^snippets/[\w/.-]+:[\w-]+$")


def section_refs(body: str) -> list[str] | None:
    """``["snippets/x.py:name", ...]`` when a fence holds nothing but named
    sections in pymdownx.snippets' block form; otherwise None."""
    lines = [line.strip() for line in body.strip().splitlines()]
    if len(lines) < 3 or lines[0] != "--8<--" or lines[-1] != "--8<--":
        return None
    refs = [line for line in lines[1:-1] if line]
    if not refs or not all(SECTION_REF.match(ref) for ref in refs):
        return None
    return refs


def block_imports(refs: list[str]) -> str:
    """The imports a block made of the sections ``refs`` needs, followed by
    the blank lines that separate them from its code ("" when it needs
    none): the same imports its program has for those lines."""
    body = "\n".join(without_annotations(section(ref)) for ref in refs)
    modules = list(dict.fromkeys(ROOT / ref.partition(":")[0] for ref in refs))
    imports = import_block(modules, body)
    if not imports:
        return ""
    first = _tree(body).body[0]
    gap = (
        "\n\n\n"
        if isinstance(
            first, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        )
        else "\n\n"
    )
    return imports + gap


# ------------------------------------------------------------------ programs
def program(name: str) -> Program:
    """The program called ``name``."""
    return next(p for p in PROGRAMS if p.name == name)


def _docstring(module: Path) -> str:
    """The module's docstring as written in its source (escapes and all)."""
    source = module.read_text()
    tree = _tree(source)
    first = tree.body[0] if tree.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        raise ValueError(
            f"{module.name} needs a docstring: programs start with it"
        )
    literal = ast.get_source_segment(source, first.value) or ""
    if not literal.startswith('"""'):
        raise ValueError(
            f"{module.name}: write its docstring in triple quotes"
        )
    return literal[3:-3].strip("\n")


def _parts(prog: Program) -> list[str]:
    """The program's sections, with lazy imports of sibling downloads made
    relative to the folder the reader keeps them in."""
    names = {p.name.removesuffix(".py") for p in PROGRAMS}
    texts = []
    for spec in prog.parts:
        lines = without_annotations(section(spec)).strip("\n").split("\n")
        for number, line in enumerate(lines):
            sibling = SIBLING_IMPORT.match(line)
            if sibling and sibling["module"] in names:
                lines[number] = SIBLING_IMPORT.sub(
                    r"\g<indent>from \g<module> ", line
                )
        texts.append("\n".join(lines))
    return texts


def compose(prog: Program, version: str, page_url: str) -> str:
    """The complete program: docstring, imports, then the sections.

    What the composition cannot see (a name no part defines) the tests catch:
    they lint and run every program as a reader would.

    Remembered on disk (``memo.py``), keyed on the sources it reads: each
    page's download box composes its programs, and every test process lists
    the pages' blocks, so composing took a second and a half per process.
    """
    modules = sorted(
        {prog.module, *(ROOT / s.partition(":")[0] for s in prog.parts)}
    )
    key = [
        memo.source_tag(sys.modules[__name__]),
        prog.name,
        list(prog.parts),
        version,
        page_url,
        [hashlib.sha256(m.read_bytes()).hexdigest() for m in modules],
    ]
    return memo.remember(
        "programs", key, lambda: _compose(prog, version, page_url)
    )


def _compose(prog: Program, version: str, page_url: str) -> str:
    # Two blank lines between top-level parts, as PEP 8 has it; sections
    # that held nested markers may leave more.
    body = re.sub(r"\n{4,}", "\n\n\n", "\n\n\n".join(_parts(prog)))
    for node in _tree(body).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            code = ast.unparse(node)
            raise ValueError(f"{prog.name}: a part holds an import: {code}")
    modules = [ROOT / spec.partition(":")[0] for spec in prog.parts]
    docstring = _docstring(prog.module)
    docstring += f"\n\nFrom Shipping Webhooks Docs {version}:\n{page_url}\n"
    imports = import_block(list(dict.fromkeys(modules)), body)
    # Like ruff: two blank lines before a def or class, else one.
    first = _tree(body).body[0]
    gap = (
        "\n\n\n"
        if isinstance(
            first, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        )
        else "\n\n"
    )
    return f'"""{docstring}"""\n\n{imports}{gap}{body}\n'


# -------------------------------------------------------------- requirements
@cache
def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def version() -> str:
    return str(_project()["version"])


def requirement_lines(extra: str | None = None) -> list[str]:
    """The requirements of the examples (``extra``: of that optional part)."""
    project = _project()
    if extra is None:
        return list(project["dependencies"])
    return list(project["optional-dependencies"][extra])


def requirements_file(extra: str | None = None) -> str:
    lines = requirement_lines(extra)
    which = f"the {extra} example" if extra else "the examples"
    head = f"# What {which} of Shipping Webhooks Docs {version()} need.\n"
    return head + "".join(f"{line}\n" for line in lines)


def _third_party(code: str) -> frozenset[str]:
    """The top-level names ``code`` imports from outside the standard
    library. Remembered on disk (``memo.py``) with the program's text as
    key: walking a whole program's tree took a third of a second a build."""
    here = sys.modules[__name__]
    key = [memo.source_tag(here), list(sys.version_info[:2]), code]
    found = memo.remember("imports", key, lambda: " ".join(_imported(code)))
    return frozenset(found.split())


def _imported(code: str) -> list[str]:
    tops: set[str] = set()
    for node in ast.walk(_tree(code)):
        if isinstance(node, ast.Import):
            tops |= {a.name.split(".")[0] for a in node.names}
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
        ):
            tops.add(node.module.split(".")[0])
    return sorted(t for t in tops if t not in sys.stdlib_module_names)


@cache  # installed metadata, read once per requirement line
def distributions(line: str) -> tuple[str, ...]:
    """The distributions a requirement line installs: its own, and those its
    extras pull in (``psycopg[pool]`` installs ``psycopg-pool``)."""
    requirement = Requirement(line)
    names = [canonicalize_name(requirement.name)]
    if requirement.extras:
        for needed in metadata.requires(requirement.name) or []:
            extra = Requirement(needed)
            if extra.marker and any(
                extra.marker.evaluate({"extra": name})
                for name in requirement.extras
            ):
                names.append(canonicalize_name(extra.name))
    return tuple(names)


@cache
def provides(distribution: str) -> frozenset[str]:
    """The top-level names an installed distribution can be imported by.

    What ``importlib.metadata.packages_distributions()`` finds, for one
    distribution: that function reads every installed file list (a second a
    build); only the few the requirements name are needed here.
    """
    found = metadata.distribution(distribution)
    declared = (found.read_text("top_level.txt") or "").split()
    if declared:
        return frozenset(declared)
    names = set()
    for path in found.files or ():
        if ".pth" in path.name or path.parts[0].endswith(".dist-info"):
            continue
        name = path.parts[0] if len(path.parts) > 1 else getmodulename(path)
        if name and name != "__pycache__" and not name.startswith(".."):
            names.add(name)
    return frozenset(names)


def needed_requirements(prog: Program, code: str) -> list[str]:
    """The lines of the program's requirements file that its imports need.

    An import maps to the distribution that provides it, as installed; an
    import no line provides is an error, so a missing requirement fails the
    build even where the builder's environment happens to have it.
    """
    lines = requirement_lines(prog.extra)
    by_name = {name: line for line in lines for name in distributions(line)}
    siblings = {p.name.removesuffix(".py") for p in PROGRAMS}
    needed: list[str] = []
    for top in sorted(_third_party(code) - siblings):
        found = [
            line
            for name, line in sorted(by_name.items())
            if top in provides(name)
        ]
        if not found:
            raise ValueError(
                f"{prog.name} imports {top}, which no line of "
                f"{prog.requirements} provides"
            )
        needed += [line for line in found if line not in needed]
    return needed


def archive(programs: dict[str, str]) -> bytes:
    """Every program and requirements file, in one zip (fixed timestamps, so
    the same sources make the same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in sorted(programs.items()):
            info = zipfile.ZipInfo(
                f"examples/{name}", date_time=(2026, 1, 1, 0, 0, 0)
            )
            info.external_attr = 0o644 << 16
            bundle.writestr(info, text)
    return buffer.getvalue()
