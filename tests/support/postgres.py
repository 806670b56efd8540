"""A throwaway PostgreSQL cluster of the suite's own: ``initdb`` and
``pg_ctl`` on a Unix socket in a temporary folder, no TCP port.

Debian installs the server binaries outside PATH, under
``/usr/lib/postgresql/<version>/bin``; the newest version there is used
(``PG_BINDIR`` names another folder). The server refuses to run as root:
under root the cluster belongs to the ``postgres`` user (the package creates
it), in a folder made for that user (pytest's temporary folders under root
are not readable by it). Outside CI the tests that need the cluster are
skipped, with the reason, when the binaries are missing; under CI (``CI``
set) that is a failure: ``.ci/run`` installs them.

Each process has at most one cluster (:func:`cluster`), started on first use
and stopped at the end of the session (the ``postgres`` fixture) or of the
process. The cluster trades durability for speed (``fsync`` off), as the
SQLite tests keep their files in memory: what is tested is the inbox's code,
not the disk.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import psycopg
import pytest

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"  # Debian's; the server will not run as root
INSTALL_HINT = "apt-get install postgresql"


def binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None."""
    named = os.environ.get("PG_BINDIR")
    if named:
        return Path(named) if (Path(named) / "initdb").exists() else None
    versions = sorted(
        DEBIAN_BINARIES.glob("*/bin/initdb"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parts[-3])],
    )
    if versions:
        return versions[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def skip_reason() -> str | None:
    """Why the cluster cannot run here, or None. Under CI, never skip."""
    if binaries() is not None:
        return None
    message = (
        "PostgreSQL's server binaries (initdb, pg_ctl) are missing: "
        f"{INSTALL_HINT}"
    )
    if os.environ.get("CI"):
        raise AssertionError(f"{message} (.ci/run installs them under CI)")
    return message


class Cluster:
    """A running cluster, reached through a Unix socket in its folder."""

    def __init__(self, bindir: Path, durable: bool = False) -> None:
        self.bindir = bindir
        self._names = itertools.count(1)
        self._as_user: dict[str, object] = {}
        shm = Path("/dev/shm")  # in memory, unless it must be on disk
        in_memory = not durable and os.access(shm, os.W_OK)
        self.folder = Path(
            tempfile.mkdtemp(prefix="pg-", dir=shm if in_memory else None)
        )
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as_user = {"user": user.pw_uid, "group": user.pw_gid}
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self._run(
            "initdb", "--auth=trust", "--encoding=UTF8", "--locale=C",
            "--no-sync", f"--username={SERVER_USER}", "-D", str(self.data),
        )  # fmt: skip
        options = (
            "-c listen_addresses='' -c max_connections=200"
            f" -c unix_socket_directories={self.folder}"
        )
        if not durable:  # for tests; a benchmark keeps the defaults
            options += " -c fsync=off -c full_page_writes=off"
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
            "-l", str(self.log), "-o", options,
        )  # fmt: skip

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [str(self.bindir / program), *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self._as_user,  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{program} failed:\n{result.stdout}{result.stderr}{log}"
            )

    def url(self, database: str = "postgres") -> str:
        """The libpq URL of ``database``, through the cluster's socket."""
        return f"postgresql://{SERVER_USER}@/{database}?host={self.folder}"

    def fresh_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            # Copying the template's files is a third faster than writing
            # them through the WAL (the default since PostgreSQL 15, which
            # added the choice), and the cluster does not sync them.
            copy = admin.info.server_version >= 150000
            strategy = " STRATEGY = FILE_COPY" if copy else ""
            admin.execute(f'CREATE DATABASE "{name}"{strategy}')
        return self.url(name)

    def psql(self, url: str, script: str) -> subprocess.CompletedProcess[str]:
        """``script`` run by psql as a reader pastes it: statement by
        statement, stopping at the first error."""
        return subprocess.run(
            [str(self.bindir / "psql"), "--no-psqlrc", "--quiet",
             "--set=ON_ERROR_STOP=1", "--dbname", url, "--file", "-"],
            input=script, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip

    def stop(self) -> None:
        if self.data.exists():
            self._run(
                "pg_ctl", "stop", "-m", "immediate", "-D", str(self.data)
            )
        shutil.rmtree(self.folder, ignore_errors=True)


@cache
def cluster() -> Cluster:
    """This process's cluster, started on first use; skips the test (fails
    under CI) when the server binaries are missing."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    bindir = binaries()
    assert bindir is not None
    started = Cluster(bindir)
    atexit.register(started.stop)
    return started


def stop() -> None:
    """Stop this process's cluster, if it was started."""
    if cluster.cache_info().currsize:
        cluster().stop()
        cluster.cache_clear()
