"""mkdocs-gen-files script: write the programs readers download.

Into ``downloads/`` of the built site: every program of ``programs.PROGRAMS``,
the requirements files they name, and ``examples.zip`` holding them all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mkdocs_gen_files

# MkDocs-gen-files runs this file by its path: make ``docs._hooks`` importable.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from docs._hooks import programs  # noqa: E402
from docs._hooks.build import page_url  # noqa: E402


def generate() -> None:
    site_url = mkdocs_gen_files.config["site_url"]
    version = programs.version()
    files: dict[str, str] = {}
    for program in programs.PROGRAMS:
        url = page_url(site_url, program.page)
        files[program.name] = programs.compose(program, version, url)
        files[program.requirements] = programs.requirements_file(program.extra)
    for name, text in files.items():
        with mkdocs_gen_files.open(f"{programs.DOWNLOADS}/{name}", "w") as out:
            out.write(text)
    zipped = f"{programs.DOWNLOADS}/{programs.ARCHIVE}"
    with mkdocs_gen_files.open(zipped, "wb") as out:
        out.write(programs.archive(files))


generate()
