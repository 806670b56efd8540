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
import subprocess
import sys
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
