"""The receivers under their documented production commands, and nginx in
front of them with the documented configuration.

The commands are read from ``docs/receive-production.md`` (placeholders filled as the
build fills them) and the nginx server block from
``snippets/nginx-webhooks.conf`` (the file the page embeds), so what is
tested is what the page says. Only what a test must change is changed: the
address (a socket the test holds, so a restarting server loses no
connection), the inbox file, the platform's key set (a fake served on
127.0.0.1) and nginx's timeouts (seconds instead of tens of seconds).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from docs._hooks.fences import fences
from docs._hooks.programs import section
from docs._hooks.settings_hook import substitute
from tests.support.paths import ROOT
from tests.support.shell import commands as shell_commands

PAGE = ROOT / "docs" / "receive-production.md"
NGINX = Path("/usr/sbin/nginx")


def page_command(kind: str) -> tuple[dict[str, str], list[str]]:
    """The environment and the words of the page's production command."""
    program = {"flask": "gunicorn", "fastapi": "uvicorn"}[kind]
    for fence in fences(substitute(PAGE.read_text(), PAGE.name)):
        if fence.lang != "bash":
            continue
        commands = shell_commands(fence.body)
        words = [c.words for c in commands if c.words[:1] == [program]]
        if words:
            env = {}
            for command in commands:
                if command.words[:1] == ["export"]:
                    for assignment in command.words[1:]:
                        name, _, value = assignment.partition("=")
                        env[name] = value
            return env, words[0]
    raise AssertionError(f"{PAGE} shows no {program} command")


def _replace_option(words: list[str], option: str, value: str) -> list[str]:
    index = words.index(option)
    return [*words[: index + 1], value, *words[index + 2 :]]


def _drop_option(words: list[str], option: str) -> list[str]:
    index = words.index(option)
    return [*words[:index], *words[index + 2 :]]


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    return sock


class ProductionServer:
    """The page's command for ``kind``, serving a socket the test holds."""

    def __init__(
        self, kind: str, inbox: Path, api_base: str, folder: Path
    ) -> None:
        self.kind = kind
        self.folder = folder  # holds the receiver's download, as for a reader
        page_env, words = page_command(kind)
        self.sock = listening_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/webhooks"
        fd = str(self.sock.fileno())
        if kind == "flask":
            words = _replace_option(words, "--bind", f"fd://{fd}")
        else:
            words = _drop_option(_drop_option(words, "--host"), "--port")
            words = [*words, "--fd", fd]
        self.argv = [sys.executable, "-m", *words]
        assert "YOURSTORE_INBOX_PATH" in page_env
        self.env = {
            **os.environ,
            **page_env,
            "YOURSTORE_INBOX_PATH": str(inbox),
            "YOURSTORE_API_BASE": api_base,
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.folder,
            env=self.env,
            pass_fds=[self.sock.fileno()],
            stdout=self.log,
            stderr=self.log,  # a file: a full pipe would stall the server
        )

    def workers(self) -> list[int]:
        """The worker processes serving requests, once they are up."""
        assert self.process is not None
        deadline = time.monotonic() + 60
        while True:
            children = subprocess.run(
                ["pgrep", "-P", str(self.process.pid)],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.split()
            found = [
                int(pid)
                for pid in children
                if "resource_tracker" not in _cmdline(int(pid))
            ]
            if len(found) >= 2:
                return found
            assert time.monotonic() < deadline, "no workers came up"
            time.sleep(0.05)

    def ready(self, timeout: float = 120) -> None:
        """Wait until the server answers (imports are slow on a busy
        machine)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(
                    ("127.0.0.1", self.port), timeout=5
                ) as sock:
                    sock.settimeout(10)
                    sock.sendall(b"GET /webhooks HTTP/1.1\r\nHost: x\r\n\r\n")
                    if sock.recv(12).startswith(b"HTTP/1.1 405"):
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.02)

    def kill_worker(self) -> int:
        """kill -9 the worker holding the most connections (one worker may
        have accepted them all); its server is left to replace it."""
        pid = max(self.workers(), key=_sockets)
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill(self) -> None:
        """kill -9 the whole server: its master and every worker."""
        assert self.process is not None
        workers = self.workers()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> str:
        """Stop the server; return what it logged."""
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        finally:
            self.sock.close()
        text = self.output()
        self.log.close()
        return text


def _sockets(pid: int) -> int:
    """How many sockets a process holds open."""
    count = 0
    with contextlib.suppress(OSError):  # gone, or closing its files
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(fd).startswith("socket:")
    return count


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


# ---------------------------------------------------------------------- nginx
def nginx_available() -> bool:
    return NGINX.exists()


def server_block() -> str:
    """The server block the page shows, from the file it embeds."""
    return section("snippets/nginx-webhooks.conf:server")


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert, key_file = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key_file


def nginx_config(
    directory: Path,
    upstream_port: int | None = None,
    listen: str | None = None,
    timeout: str | None = None,
) -> Path:
    """A main nginx.conf around the page's server block, its files in
    ``directory``; optionally pointed at a test's upstream and listening
    address, with shorter timeouts."""
    server = server_block()
    cert, key = self_signed(directory)
    server = re.sub(
        r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", server
    )
    server = re.sub(
        r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", server
    )
    if upstream_port is not None:
        server = server.replace(
            "proxy_pass http://127.0.0.1:5000;",
            f"proxy_pass http://127.0.0.1:{upstream_port};",
        )
    if listen is not None:
        server = server.replace("listen 443 ssl;", f"listen {listen};")
    if timeout is not None:
        server = re.sub(
            r"(client_header_timeout|client_body_timeout|send_timeout) \d+s;",
            rf"\1 {timeout};",
            server,
        )
    (directory / "server.conf").write_text(server)
    temp = {
        name: directory / name
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")
    }
    for path in temp.values():
        path.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = directory / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\n"
        f"pid {directory}/nginx.pid;\nerror_log {directory}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n    access_log off;\n"
        f"    client_body_temp_path {temp['body']};\n"
        f"    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n"
        f"    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n"
        f"    include {directory}/server.conf;\n}}\n"
    )
    return main


def nginx_test(config: Path) -> subprocess.CompletedProcess:
    """``nginx -t``: the proxy's own check of a configuration."""
    return subprocess.run(
        [str(NGINX), "-t", "-c", str(config), "-p", str(config.parent)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Nginx:
    """nginx with the page's server block, in front of ``upstream_port``."""

    def __init__(self, directory: Path, upstream_port: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/webhooks"
        self.config = nginx_config(
            directory, upstream_port, f"127.0.0.1:{self.port}", "1s"
        )
        self.process = subprocess.Popen(
            [str(NGINX), "-c", str(self.config), "-p", str(directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                assert self.process.poll() is None, self.process.stderr.read()
                assert time.monotonic() < deadline, "nginx never came up"
                time.sleep(0.02)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process.stderr.close()


def skip_without_nginx() -> str | None:
    """Why nginx tests cannot run here, or None. Under CI, never skip."""
    if nginx_available():
        return None
    if os.environ.get("CI"):
        raise AssertionError(
            "nginx is missing: .ci/run installs nginx-light under CI"
        )
    return "nginx is not installed: apt-get install nginx-light"
