"""A reader with one downloaded program: the file alone in an empty folder,
run with ``python`` as the page says.

The folder holds nothing from this repository but the downloads asked for,
and the environment holds nothing but what the test gives it (and ``PATH``),
so a program that leans on anything else fails here as it would for a
reader. The Python that runs it has the examples' requirements installed and
none of this project: ``snippets`` cannot be imported from it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from docs._hooks import programs


class Reader:
    def __init__(self, site: Path, folder: Path) -> None:
        self.site = site
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def download(self, *names: str) -> Reader:
        """Put these files of the site's downloads into the folder."""
        for name in names:
            source = self.site / programs.DOWNLOADS / name
            shutil.copyfile(source, self.folder / name)
        return self

    def env(self, **variables: str) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.folder),
            "LANG": "C.UTF-8",
            **variables,
        }

    def run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """``python <args>`` in the folder, as a reader types it."""
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.folder,
            env=self.env(**(env or {})),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @contextmanager
    def serve(
        self, *args: str, port: int, env: dict[str, str] | None = None
    ) -> Iterator[str]:
        """Start ``args`` (a server the page tells the reader to start on
        ``port``) in the folder; yield its address once it accepts
        connections; stop it after."""
        process = subprocess.Popen(
            list(args),
            cwd=self.folder,
            env=self.env(**(env or {})),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise AssertionError(
                        f"{args} exited: {process.stderr.read()}"
                    )
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)  # a server starts in tenths of a second
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def background(
    reader: Reader, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """``python <args>`` left running in the reader's folder (a worker, say)
    until the block ends; then stopped as Ctrl+C stops it."""
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=reader.folder,
        env=reader.env(**(env or {})),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    """A port nothing listens on now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
