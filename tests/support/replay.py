"""A page's curl blocks, run as a reader runs them: in bash, with curl.

Each page gets its own fake API, served over HTTP on 127.0.0.1 and holding
the site's sample shipment, and a server for each receiver its curls call
(``data-receiver="module:app"``: an app in one of the site's downloads). The page's shell blocks that
hold curl and export commands run in page order, each in a fresh bash that
starts from the variables the blocks before it exported, so the state of the
fake and of the shell carries over as it would for the reader. The text that
runs is the block as the built page shows it; only the API's address and the
receivers' local addresses are pointed at the servers. The reader's API key
is the one value the replay supplies: a page's ``export`` of it is skipped.

For each block the replay records the status of every curl (curl reports it
through ``--write-out`` on stderr), what the fake was asked and answered, and
how bash ended. ``problems`` turns that into what the page gets wrong.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snippets import catalog, settings
from tests.support import shell
from tests.support.fake_api import TEST_API_KEY, Call, FakeApi, sample_shipment
from tests.support.servers import AppServer, LiveServer
from tests.support.site import Block, BuiltSite

STATUS = "@@curl-status "
PRELUDE = f"""set -eu
curl() {{ command curl --write-out '%{{stderr}}{STATUS}%{{http_code}}\\n' "$@"; }}
"""
LOCAL = re.compile(r"(?<=\s)http://(?:127\.0\.0\.1|localhost):\d+")
SHELL_LANGS = {"bash", "sh", "shell", "console"}
REPLAYED = {"curl", "export"}


API = re.compile(r"(?<=\s)" + re.escape(settings.API_BASE) + r"(?=[/\s]|$)")
KEY_EXPORT = re.compile(
    rf"^\s*export {settings.API_KEY_ENV}=.*$", re.MULTILINE
)


def documented_fake() -> FakeApi:
    """The fake a page's curls meet: empty but for the sample shipment."""
    fake = FakeApi(api_key=TEST_API_KEY)
    fake.add_shipment(sample_shipment())
    return fake


@dataclass
class Run:
    """What one block did when bash ran it."""

    returncode: int
    stdout: str
    stderr: str
    statuses: list[int]  # of each curl, in order
    calls: list[Call] = field(default_factory=list)  # what the fake was asked
    unexpected: list[Call] = field(default_factory=list)  # ...and knew not


def replayed(block: Block) -> bool:
    """A block the replay runs: shell, with curl or export and nothing else."""
    if block.lang not in SHELL_LANGS:
        return False
    try:
        found = shell.commands(block.code)
    except ValueError:
        return False
    programs = {c.program for c in found if c.words}
    return bool(programs) and programs <= REPLAYED


def curls(block: Block) -> list[shell.Command]:
    return [c for c in shell.commands(block.code) if c.program == "curl"]


def _load_app(target: str, site: BuiltSite) -> Any:
    """The app a page's curls call: loaded from the page's download."""
    module_name, _, attribute = target.partition(":")
    path = site.download(f"{module_name}.py")
    spec = importlib.util.spec_from_file_location(
        f"download_{module_name}", path
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, attribute or "app")


class PageReplay:
    """Every replayed block of one page, run once, in page order."""

    def __init__(self, site: BuiltSite, page: str) -> None:
        self.page = page
        self.blocks = site.blocks(page)
        self.runs: dict[str, Run] = {}
        with ExitStack() as stack, tempfile.TemporaryDirectory() as home:
            fake = documented_fake()
            api = stack.enter_context(LiveServer(fake.wsgi_app))
            receivers = {
                target: stack.enter_context(
                    AppServer(_load_app(target, site))
                ).url
                for target in {
                    b.attrs["data-receiver"]
                    for b in self.blocks
                    if "data-receiver" in b.attrs
                }
            }
            env_file = Path(home) / "exported"
            env_file.write_text(
                f"export {settings.API_KEY_ENV}={TEST_API_KEY}\n"
            )
            for block in self.blocks:
                if replayed(block):
                    receiver = receivers.get(block.attrs.get("data-receiver"))
                    self.runs[block.line] = self._run(
                        block, fake, api.url, receiver, home
                    )

    def _run(
        self,
        block: Block,
        fake: FakeApi,
        api_url: str,
        receiver: str | None,
        home: str,
    ) -> Run:
        text = KEY_EXPORT.sub("", block.code)
        text = API.sub(api_url, text)
        if receiver is not None:
            text = LOCAL.sub(receiver, text)
        script = (
            f"{PRELUDE}. {home}/exported\n{text}\n"
            f"export -p > {home}/exported\n"
        )
        before, unknown = len(fake.calls), len(fake.unexpected)
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=home,
            env={"PATH": os.environ["PATH"], "HOME": home, "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        statuses = [
            int(line.removeprefix(STATUS))
            for line in result.stderr.splitlines()
            if line.startswith(STATUS)
        ]
        errors = "\n".join(
            ln
            for ln in result.stderr.splitlines()
            if not ln.startswith(STATUS)
        )
        return Run(
            result.returncode,
            result.stdout,
            errors,
            statuses,
            fake.calls[before:],
            fake.unexpected[unknown:],
        )

    # ---------------------------------------------------------- what came back
    def _before(self, block: Block) -> list[Block]:
        return self.blocks[: self.blocks.index(block)]

    def last_api_answer(self, block: Block) -> tuple[str, Call] | None:
        """The last answer of the API to a curl above ``block``."""
        for earlier in reversed(self._before(block)):
            run = self.runs.get(earlier.line)
            if run and run.calls:
                return str(earlier), run.calls[-1]
        return None

    def last_status(self, block: Block) -> tuple[str, int] | None:
        """The status the last curl above ``block`` printed."""
        for earlier in reversed(self._before(block)):
            run = self.runs.get(earlier.line)
            if run and run.statuses:
                return str(earlier), run.statuses[-1]
        return None


# --------------------------------------------------------------- verdicts
def expected_statuses(block: Block) -> list[int] | None:
    """``data-expect="409 200"``: the status of each curl; None: any 2xx."""
    marker = block.attrs.get("data-expect")
    if marker is None:
        return None
    return [int(s) for s in re.split(r"[\s,]+", marker.strip())]


def body_facts(document: Any) -> list[str]:
    """Event values, status codes and resource types in a JSON body that the
    catalog does not have."""
    known = {
        "event": catalog.EVENT_VALUES,
        "status_code": catalog.STATUS_CODES,
        "resource_type": {e.resource_type for e in catalog.EVENTS},
    }
    problems = []
    if isinstance(document, dict):
        for key, value in document.items():
            if (
                key in known
                and isinstance(value, str)
                and value not in known[key]
            ):
                problems.append(f"{key} {value!r} is not a real one")
            problems += body_facts(value)
    elif isinstance(document, list):
        for item in document:
            problems += body_facts(item)
    return problems


def _call_problems(call: Call) -> list[str]:
    sent = " ".join(
        [call.path, json.dumps(call.query), *call.headers.values()]
    ) + call.body.decode(errors="replace")
    problems = []
    if "$" in sent:
        problems.append(
            f"{call.method} {call.path} sent a `$` the shell did not expand"
        )
    if call.body and "json" in call.headers.get("Content-Type", ""):
        try:
            problems += body_facts(json.loads(call.body))
        except ValueError:
            problems.append(f"{call.method} {call.path}: the body is not JSON")
    return problems


def problems(block: Block, run: Run) -> list[str]:
    """What the replay of ``block`` shows the page gets wrong."""
    found: list[str] = []
    if run.returncode != 0:
        found.append(
            f"bash exited {run.returncode}: {run.stderr.strip()[-300:]}"
        )
    count = len(curls(block))
    expected = expected_statuses(block)
    if expected is not None and len(expected) != count:
        found.append(
            f"data-expect gives {len(expected)} statuses, {count} curls"
        )
    elif expected is not None and run.statuses != expected:
        found.append(f"curl answered {run.statuses}, the page says {expected}")
    elif expected is None and (
        len(run.statuses) != count
        or not all(200 <= s < 300 for s in run.statuses)
    ):
        found.append(
            f"curl answered {run.statuses}; the page shows each succeeding"
        )
    for call in run.calls:
        found += _call_problems(call)
    found += [f"the API has no {c.method} {c.path}" for c in run.unexpected]
    return found
