"""Shared fixtures: the fake API, and a guard that keeps every test off the
network.

The fixtures import what they need when first used: under pytest-xdist the
controller loads this file as well, before it starts the workers, and needs
none of it (importing it all took a second of the controller's start).
"""

from __future__ import annotations

import fcntl
import gc
import ipaddress
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from tests.support.paths import ROOT, SNIPPETS

if TYPE_CHECKING:
    from tests.support import postgres
    from tests.support.fake_api import FakeApi
    from tests.support.reader import Reader
    from tests.support.servers import SilentServer

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise RuntimeError(
                f"tests must not touch the network (tried {address!r})"
            )
    _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The key the fake accepts, placed where the snippets look for it."""
    from snippets import settings
    from tests.support.fake_api import TEST_API_KEY

    monkeypatch.setenv(settings.API_KEY_ENV, TEST_API_KEY)
    return TEST_API_KEY


@pytest.fixture
def fake_api(api_key: str) -> Iterator[FakeApi]:
    """The fake API, served in-process by requests-mock.

    Requests to any other host fail (requests-mock raises ``NoMockAddress``); a
    request the fake does not know fails the test at teardown.
    """
    import requests_mock

    from tests.support.fake_api import FakeApi

    fake = FakeApi(api_key=api_key)
    with requests_mock.Mocker(real_http=False) as mocker:
        fake.install(mocker)
        fake.mocker = mocker
        yield fake
    assert not fake.unexpected, (
        f"requests the fake API does not serve: {fake.unexpected}"
    )


def _needs_site(item: pytest.Item) -> bool:
    return "built_site" in getattr(item, "fixturenames", ())


def _proves_coverage(item: pytest.Item) -> bool:
    """Whether ``item`` counts towards the 100% coverage of ``snippets/``.

    Only the snippets' own tests do (``tests/snippets/``, and the tests the
    testing page's example holds): every line of an example is run by the
    tests named after it. The site, tool, browser and load tests run no line
    those do not; they run untraced (``pytest_runtest_call`` below).
    """
    if item.get_closest_marker("browser") or item.get_closest_marker("load"):
        return False
    return item.path.is_relative_to(SNIPPETS) or item.path.is_relative_to(
        ROOT / "tests" / "snippets"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Run a test that does not count towards coverage with no tracer.

    Tracing makes Python code a third slower or more. pytest-cov's own
    ``no_cover`` marker does not stop it under pytest-xdist: each worker
    also starts the controller's coverage at start-up, and pausing the
    worker's own resumes that one underneath. Setting no trace function,
    for this thread and for threads the test starts, stops any tracer;
    coverage's tracer takes over again when set back.
    """
    tracer = sys.gettrace()
    if tracer is None or _proves_coverage(item):
        return (yield)
    for_threads = threading.gettrace()
    sys.settrace(None)
    threading.settrace(None)  # type: ignore[arg-type]
    try:
        return (yield)
    finally:
        threading.settrace(for_threads)  # type: ignore[arg-type]
        sys.settrace(tracer)


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Modules that read the built site run after the others, so that under
    pytest-xdist the build, started here in the background, overlaps the
    tests that need no site instead of holding both workers up.

    The browser tests run last of all. Collected first (``tests/browser/``),
    pytest-xdist handed them to one worker in a run of their own, about 190 s
    of the suite's 230 s, while the other worker ran out of work early. At
    the end they are shared out to both workers, each with its Chromium:
    the suite took 187 to 227 s (4 runs) against 226 to 236 s (3 runs),
    run alternately.
    """
    with_site = {item.path for item in items if _needs_site(item)}
    items.sort(  # stable: each group keeps the order it was collected in
        key=lambda item: (
            item.path in with_site,
            item.get_closest_marker("browser") is not None,
        )
    )
    basetemp = config.option.basetemp
    if with_site and os.environ.get("PYTEST_XDIST_WORKER") and basetemp:
        _start_building(Path(basetemp).parent)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Set what collection made (modules, test items: hundreds of thousands
    of objects that live as long as the session) aside from the garbage
    collector, whose full passes over them took seconds of each worker's
    run."""
    gc.freeze()


def _start_building(shared: Path) -> None:
    """Build the site into ``shared`` in a child process holding the lock
    the ``built_site`` fixture waits on; the first worker here starts it."""
    with (shared / "site.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another worker is building
        if (shared / "site.built").exists():
            return
        # The child inherits the locked file; the lock is released when it
        # exits, built or not.
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.site", str(shared)],
            pass_fds=[lock.fileno()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once per test session with ``mkdocs build --strict``.

    Under pytest-xdist the workers share one build in their common temporary
    folder, started in the background as collection ends
    (``pytest_collection_modifyitems``); a worker that needs it first waits
    on a lock (``fcntl``, from the standard library: a few lines do not call
    for a dependency). Should that build have failed, the worker builds
    again itself, so that the failure is reported with its log. Tests only
    read the site.
    """
    from tests.support.site import build_shared_site, build_site

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        site_dir = tmp_path_factory.mktemp("site")
        build_site(site_dir)
        return site_dir
    with _shared_lock(tmp_path_factory, "site.lock") as shared:
        if not (shared / "site.built").exists():
            build_shared_site(shared)
    return shared / "site"


@contextmanager
def _shared_lock(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[Path]:
    """Hold the lock file ``name`` in the temporary folder pytest-xdist's
    workers share, waiting while another worker holds it; yields that
    folder."""
    shared = tmp_path_factory.getbasetemp().parent
    with (shared / name).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield shared


@pytest.fixture
def port_5000(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port 5000, the one the pages' receivers take, for this test alone.

    A test that runs a page's command as written needs it; under
    pytest-xdist another worker's such test waits on a lock in the workers'
    shared temporary folder (``fcntl``, as for ``built_site``). A lock,
    rather than an ``xdist_group`` marker, lets pytest-xdist hand out tests
    in contiguous runs (``--dist load``): grouping any test meant
    scheduling every test alone, and a module's tests then alternated
    between the workers, each setting up the module's fixtures again.
    """
    with _shared_lock(tmp_path_factory, "port-5000.lock"):
        yield 5000


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[postgres.Cluster]:
    """A throwaway PostgreSQL cluster, started once per test process (the
    test is skipped outside CI when the server binaries are missing)."""
    from tests.support import postgres

    yield postgres.cluster()
    postgres.stop()


@pytest.fixture
def run_main(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], dict]:
    """Run ``python -m <module>`` in-process, as a reader would from a
    shell."""
    import runpy

    def run(module: str) -> dict:
        monkeypatch.delitem(sys.modules, module, raising=False)
        return runpy.run_module(module, run_name="__main__", alter_sys=False)

    return run


@pytest.fixture
def refused_url() -> str:
    """A loopback URL where nothing listens: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ------------------------------------------------ the fake over real HTTP
@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait urllib3's ``Retry`` asks for, recorded instead of slept."""
    import urllib3.util.retry

    waited: list[float] = []
    fake_time = SimpleNamespace(sleep=waited.append, time=time.time)
    monkeypatch.setattr(urllib3.util.retry, "time", fake_time)
    return waited


@pytest.fixture
def live_api(
    api_key: str, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeApi]:
    """The fake API over real HTTP; the snippets' API_BASE points at it.

    urllib3's sleeps are recorded in ``sleeps`` and advance the fake's clock,
    so a 429's ``Retry-After`` really ends the rate-limit window the fake
    enforces.
    """
    import urllib3.util.retry

    import snippets.client
    from tests.support.fake_api import FakeApi
    from tests.support.servers import LiveServer

    fake = FakeApi(api_key=api_key)

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        fake.advance(seconds)

    fake_time = SimpleNamespace(sleep=sleep, time=time.time)
    monkeypatch.setattr(urllib3.util.retry, "time", fake_time)
    with LiveServer(fake.wsgi_app) as server:
        fake.base_url = server.url
        monkeypatch.setattr(snippets.client, "API_BASE", server.url)
        yield fake
    assert not fake.unexpected, (
        f"requests the fake does not serve: {fake.unexpected}"
    )


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A loopback server that accepts connections and never answers."""
    from tests.support.servers import SilentServer

    with SilentServer() as server:
        yield server


# ------------------------------------------------- the programs readers run
@pytest.fixture
def http_api(api_key: str) -> Iterator[FakeApi]:
    """The fake API over real HTTP on 127.0.0.1, for a program run in a
    child process (give it ``YOURSTORE_API_BASE=http_api.base_url``)."""
    from tests.support.fake_api import FakeApi
    from tests.support.servers import LiveServer

    fake = FakeApi(api_key=api_key)
    with LiveServer(fake.wsgi_app) as server:
        fake.base_url = server.url
        yield fake
    assert not fake.unexpected, (
        f"requests the fake does not serve: {fake.unexpected}"
    )


@pytest.fixture
def reader(built_site: Path, tmp_path: Path) -> Reader:
    """An empty folder to put downloads in and run them, as a reader would."""
    from tests.support.reader import Reader

    return Reader(built_site, tmp_path / "reader")


@pytest.fixture
def api_env(http_api: FakeApi) -> dict[str, str]:
    """What a reader sets to point a downloaded program at the fake."""
    from snippets import settings

    return {
        "YOURSTORE_API_BASE": http_api.base_url,
        settings.API_KEY_ENV: http_api.api_key,
    }
