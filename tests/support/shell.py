"""Shell blocks taken apart: the commands a reader would type, and what each
one must name to work.

``commands`` splits a block with :mod:`shlex` (continuations joined, comments
dropped, a here-document kept as the command's input). ``problems`` checks
one command against what exists: the programs the page offers for download,
their options, the packages the examples need, the variables they read. A
command no checker knows is a problem too, so every line of a block is
claimed. ``curl`` is not checked here: ``replay.py`` runs it.
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from docs._hooks import programs
from snippets import settings

ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
HEREDOC = re.compile(r"<<-?\s*(?P<quote>['\"]?)(?P<tag>\w+)(?P=quote)\s*$")
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass
class Command:
    words: list[str]  # the command, leading NAME=value assignments removed
    env: dict[str, str]  # those assignments
    text: str  # the logical line as written
    stdin: str | None = None  # the body of a here-document it reads
    stdin_expands: bool = False  # <<EOF expands $NAMES; <<'EOF' does not

    @property
    def program(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def variables(self) -> list[str]:
        """The ``$NAMES`` the shell expands for this command."""
        text = " ".join([*self.words, *self.env.values()])
        if self.stdin and self.stdin_expands:
            text += " " + self.stdin
        return VARIABLE.findall(text)


def _logical_lines(script: str) -> list[tuple[str, re.Match | None, str]]:
    """Lines with continuations joined, each with the here-document (if
    any) it opens and that document's body."""
    lines = re.sub(r"\\\n", " ", script).split("\n")
    found = []
    number = 0
    while number < len(lines):
        line, number = lines[number], number + 1
        heredoc = HEREDOC.search(line)
        body: list[str] = []
        while heredoc and number < len(lines):
            number += 1
            if lines[number - 1].strip() == heredoc["tag"]:
                break
            body.append(lines[number - 1])
        found.append((line, heredoc, "\n".join(body)))
    return found


def commands(script: str) -> list[Command]:
    """The commands of a shell block, in order."""
    found: list[Command] = []
    pending = ""
    for physical, heredoc, body in _logical_lines(script):
        line = f"{pending}\n{physical}" if pending else physical
        try:
            words = shlex.split(
                line[: heredoc.start()] if heredoc else line, comments=True
            )
        except ValueError:  # a quoted string goes on to the next line
            pending = line
            continue
        pending = ""
        env: dict[str, str] = {}
        while words and ENV_ASSIGNMENT.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if words or env:
            found.append(
                Command(
                    words,
                    env,
                    line.strip(),
                    body if heredoc else None,
                    bool(heredoc and not heredoc["quote"]),
                )
            )
    if pending:
        raise ValueError(f"unclosed quotation in {pending!r}")
    return found


# ------------------------------------------------------------------ checking
@dataclass
class Context:
    """What a command on a page may name."""

    page: str
    downloads: dict[str, Path]  # the programs the page offers, by file name
    variables: set[str]  # the environment variables a reader may set


Check = Callable[[Command, Context], list[str]]


@cache
def help_text(*program: str) -> str:
    """``program --help``, or "" when it fails."""
    result = subprocess.run(
        [*program, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
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


def _options(args: list[str]) -> list[str]:
    return [a for a in args if a.startswith("-") and a != "-"]


def _download(name: str, context: Context) -> list[str]:
    if name not in context.downloads:
        offered = ", ".join(sorted(context.downloads)) or "none"
        return [f"{name} is not a download of this page ({offered})"]
    return []


@cache
def _module_names(path: Path) -> frozenset[str]:
    """Top-level names a downloaded module defines (without running it)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return frozenset(names)


def _app(target: str, context: Context, default: str = "app") -> list[str]:
    """``module:app`` names a download of the page and an app in it."""
    module, _, attribute = target.partition(":")
    name = f"{module}.py"
    problems = _download(name, context)
    if problems:
        return problems
    if (attribute or default) not in _module_names(context.downloads[name]):
        return [f"{name} has no {attribute or default}"]
    return []


def check_python(command: Command, context: Context) -> list[str]:
    args = command.words[1:]
    if args[:3] == ["-m", "pip", "install"]:
        return requirement_problems(args[3:])
    if args[:2] == ["-m", "venv"] and len(args) == 3:
        return []
    if not args or not args[0].endswith(".py"):
        return [f"`{command.text}`: only `python <download>.py` is known"]
    problems = _download(args[0], context)
    flags = _options(args[1:])
    if problems or not flags:
        return problems
    return option_problems(
        flags, sys.executable, str(context.downloads[args[0]])
    )


def check_pip(command: Command, context: Context) -> list[str]:
    if command.words[1:2] != ["install"]:
        return ["only `pip install` is known"]
    return requirement_problems(command.words[2:])


def requirement_problems(args: list[str]) -> list[str]:
    """Every requirement is a line of the examples' requirements, as
    written, or a requirements file the site offers."""
    lines = set(programs.requirement_lines())
    project = programs._project()
    for extra in project.get("optional-dependencies", {}):
        lines |= set(programs.requirement_lines(extra))
    problems = []
    files = iter(args)
    for arg in files:
        if arg in ("-q", "--quiet", "-U", "--upgrade"):
            continue
        if arg in ("-r", "--requirement"):
            name = next(files, "")
            if not re.fullmatch(r"requirements(-\w+)?\.txt", name):
                problems.append(f"pip install -r {name}: no such file")
            continue
        if arg not in lines:
            problems.append(
                f"pip install {arg!r}: not a line of the examples'"
                " requirements"
            )
    return problems


def check_flask(command: Command, context: Context) -> list[str]:
    args = command.words[1:]
    if "--app" not in args or "run" not in args:
        return ["only `flask --app <download> run ...` is known"]
    target = args[args.index("--app") + 1]
    flags = _options(args[args.index("run") + 1 :])
    problems = _app(target, context)
    sys_flask = str(Path(sys.executable).with_name("flask"))
    return problems + (
        option_problems(flags, sys_flask, "run") if flags else []
    )


def check_uvicorn(command: Command, context: Context) -> list[str]:
    args = command.words[1:]
    targets = [a for a in args if not a.startswith("-") and ":" in a]
    if len(targets) != 1:
        return ["uvicorn needs exactly one module:app"]
    flags = _options(args)
    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    return _app(targets[0], context) + (
        option_problems(flags, uvicorn) if flags else []
    )


def check_gunicorn(command: Command, context: Context) -> list[str]:
    args = command.words[1:]
    targets = [
        a for a in args if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", a)
    ]
    if len(targets) != 1:
        return ["gunicorn needs exactly one module:app"]
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    flags = _options(args)
    return _app(targets[0], context) + (
        option_problems(flags, gunicorn) if flags else []
    )


def check_pytest(command: Command, context: Context) -> list[str]:
    args = command.words[1:]
    files = [a for a in args if not a.startswith("-")]
    problems = [p for f in files for p in _download(f.split("::")[0], context)]
    flags = _options(args)
    pytest = str(Path(sys.executable).with_name("pytest"))
    return problems + (option_problems(flags, pytest) if flags else [])


def check_export(command: Command, context: Context) -> list[str]:
    names = [a.partition("=")[0] for a in command.words[1:]]
    return [
        f"{name} is a variable nothing on the page reads"
        for name in names
        if name not in context.variables
    ]


def check_curl(command: Command, context: Context) -> list[str]:
    """A curl calls the API or a receiver the page runs on this machine;
    ``replay.py`` sends it."""
    local = ("http://127.0.0.1:", "http://localhost:")
    if any(
        w.startswith((settings.API_BASE + "/", *local)) for w in command.words
    ):
        return []
    return ["curl calls neither the API nor a local receiver"]


CHECKS: dict[str, Check] = {
    "curl": check_curl,
    "python": check_python,
    "python3": check_python,
    "pip": check_pip,
    "flask": check_flask,
    "uvicorn": check_uvicorn,
    "gunicorn": check_gunicorn,
    "pytest": check_pytest,
    "export": check_export,
}


def problems(command: Command, context: Context) -> list[str]:
    """Why ``command`` would not work for a reader of the page, if at all."""
    unknown = [
        f"{name} is a variable nothing on the page reads"
        for name in command.env
        if name not in context.variables
    ]
    if not command.words:
        return unknown
    check = CHECKS.get(command.program)
    if check is None:
        return [
            *unknown,
            f"`{command.program}` is not a command the checks know",
        ]
    return unknown + check(command, context)


def download_variables(path: Path | str) -> tuple[set[str], set[str]]:
    """The environment variables a downloaded program (a file, or its text)
    reads: those it needs (``setting(...)``) and those it may
    (``os.environ.get(...)``)."""
    needed, optional = _variables(
        path.read_text() if isinstance(path, Path) else path
    )
    return set(needed), set(optional)


@cache  # every block of a page asks about the page's programs
def _variables(program: str) -> tuple[frozenset[str], frozenset[str]]:
    tree = ast.parse(program)
    constants = {
        t.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    needed: set[str] = set()
    optional: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        name = (
            first.value
            if isinstance(first, ast.Constant) and isinstance(first.value, str)
            else constants.get(first.id)
            if isinstance(first, ast.Name)
            else None
        )
        if name is None or not re.fullmatch(r"[A-Z][A-Z0-9_]+", name):
            continue
        called = ast.unparse(node.func)
        if called == "setting":
            needed.add(name)
        elif called in ("os.environ.get", "os.getenv"):
            optional.add(name)
    return frozenset(needed), frozenset(optional)
