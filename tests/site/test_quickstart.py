"""The Quickstart, followed literally, as a newcomer would.

The page's blocks are taken in order from the built page. The download boxes
put their programs into an empty folder (the install line is checked against
the requirements, not run: tests stay off the network). Each command runs in
a subprocess in that folder: the receiver and the worker, which a reader
leaves running in a terminal, in the background; every other command to the
end, its output compared with the output block the page shows after it
(``…`` stands for what differs from machine to machine, such as the key id).
The step to a real account runs against the fake API over HTTP, with the
test's key in place of the reader's.
"""

from __future__ import annotations

import re
import shlex
import time
from contextlib import ExitStack

from docs._hooks import build
from snippets import settings
from tests.support import shell
from tests.support.reader import Reader, background
from tests.support.site import BuiltSite, raw_markdown

PAGE = "quickstart.md"
LONG_RUNNING = {"receive_flask.py", "receive_fastapi.py", "inbox.py"}


def _matches(shown: str, printed: str) -> bool:
    pattern = "".join(
        ".*?" if part == "…" else re.escape(part)
        for part in re.split("(…)", shown.strip())
    )
    return re.fullmatch(pattern, printed.strip(), re.DOTALL) is not None


def _wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.01)


def _status(reader: Reader, env: dict[str, str]) -> str:
    return reader.run("inbox.py", "status", env=env).stdout.strip()


def _leave_running(
    reader: Reader, words: list[str], env: dict[str, str], running: ExitStack
) -> None:
    """What a reader leaves running in a terminal: the worker until all is
    done, the receiver in the background until the test ends."""
    if words[1] == "inbox.py":  # the worker: until all is done
        with background(reader, *words[1:], env=env):
            deadline = time.monotonic() + 60
            while '"pending"' in _status(reader, env):
                assert time.monotonic() < deadline
                time.sleep(0.2)
        return
    if "--local-keys" not in words:
        return  # the step to a real account: no key pair
    running.enter_context(background(reader, *words[1:], env=env))
    _wait_for_port(5000)  # the port_5000 fixture holds it for the test


def _follow(
    command: shell.Command,
    reader: Reader,
    env: dict[str, str],
    running: ExitStack,
) -> str | None:
    """Do what one command of the page says; what it printed, or None for a
    command whose output the page does not show."""
    words = command.words
    if command.program == "export":
        for assignment in words[1:]:
            name, _, value = assignment.partition("=")
            if name != settings.API_KEY_ENV:
                env[name] = value
        return None
    if words[1:4] == ["-m", "pip", "install"]:
        assert not shell.requirement_problems(words[4:])
        return None
    assert command.program == "python", command.text
    script = words[1]
    if script in LONG_RUNNING and (script != "inbox.py" or len(words) == 2):
        _leave_running(reader, words, env, running)
        return None
    result = reader.run(*words[1:], env=env)
    assert result.returncode == 0, (shlex.join(words), result.stderr)
    return result.stdout


def test_the_quickstart_works_as_written(
    built_site, tmp_path, http_api, port_5000
):
    site = BuiltSite(built_site)
    reader = Reader(built_site, tmp_path / "newcomer")
    for match in build.DOWNLOAD.finditer(raw_markdown(PAGE)):
        reader.download(*match["names"].split())
    env = {
        "YOURSTORE_API_BASE": http_api.base_url,
        settings.API_KEY_ENV: http_api.api_key,
    }
    blocks = site.blocks(PAGE)
    printed = ""
    compared = 0
    with ExitStack() as running:
        for block in blocks:
            if "data-output" in block.attrs:
                assert _matches(block.text, printed), (block.text, printed)
                compared += 1
            elif block.lang == "bash":
                for command in shell.commands(block.code):
                    output = _follow(command, reader, env, running)
                    if output is not None:
                        printed = output
    assert compared == 3
    assert [h["url"] for h in http_api.webhooks.values()] == [
        "https://example.com/webhooks"
    ]
