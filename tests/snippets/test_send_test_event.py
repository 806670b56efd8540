"""Tests for snippets/send_test_event.py (page: docs/send-test-event.md)."""

import json
import os
import stat
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from snippets import catalog, settings
from snippets import send_test_event as sender
from snippets.payloads import sample_delivery
from snippets.send_test_event import load_or_create_key_pair, sign_delivery
from snippets.verify_signatures import KeySet, verify_delivery
from tests.support.reader import background, free_port
from tests.support.servers import LiveServer, SilentServer

BODY = b'{"resource_url":"https://api.yourstore.com/v1/rates/se-1","resource_type":"API_RATE"}'


# --------------------------------------------------------------------- keys
def test_the_first_run_creates_a_private_key_and_its_jwks(tmp_path):
    directory = tmp_path / "keys"

    private_key, key_id = load_or_create_key_pair(directory)

    pem = directory / "private-key.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    jwks = json.loads((directory / "jwks.json").read_text())
    [jwk] = jwks["keys"]
    assert (jwk["kid"], jwk["kty"], jwk["use"], jwk["alg"]) == (
        key_id,
        "RSA",
        "sig",
        "RS256",
    )
    assert "d" not in jwk  # the public half only
    assert key_id.startswith("local-")
    published = KeySet.from_jwks(jwks).public_key(key_id)
    assert (
        published.public_numbers() == private_key.public_key().public_numbers()
    )
    assert private_key.key_size == 2048


def test_later_runs_reuse_the_key(tmp_path):
    first_key, first_id = load_or_create_key_pair(tmp_path)
    jwks_before = (tmp_path / "jwks.json").read_text()

    second_key, second_id = load_or_create_key_pair(tmp_path)

    assert second_id == first_id
    assert second_key.private_numbers() == first_key.private_numbers()
    assert (tmp_path / "jwks.json").read_text() == jwks_before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "jwks.json",
        "private-key.pem",
    ]


def test_a_missing_jwks_is_written_again_from_the_key(tmp_path):
    _, key_id = load_or_create_key_pair(tmp_path)
    (tmp_path / "jwks.json").unlink()

    assert load_or_create_key_pair(tmp_path)[1] == key_id
    assert (
        json.loads((tmp_path / "jwks.json").read_text())["keys"][0]["kid"]
        == key_id
    )


def test_two_first_runs_racing_end_up_with_one_key(tmp_path, monkeypatch):
    """The loser of the race sees the winner's file and uses it."""
    real_link = os.link
    winner = {}

    def link_after_the_other_run(source, target):
        if not winner:
            # Another run writes its key between our check and our link.
            monkeypatch.setattr(sender.os, "link", real_link)
            winner["key"], winner["id"] = load_or_create_key_pair(tmp_path)
        return real_link(source, target)

    monkeypatch.setattr(sender.os, "link", link_after_the_other_run)

    _, key_id = load_or_create_key_pair(tmp_path)

    assert key_id == winner["id"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "jwks.json",
        "private-key.pem",
    ]


def test_a_key_file_that_is_not_rsa_is_refused(tmp_path):
    not_rsa = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "private-key.pem").write_bytes(
        not_rsa.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(ValueError, match="does not hold an RSA private key"):
        load_or_create_key_pair(tmp_path)


# --------------------------------------------------------------------- sign
def test_sign_delivery_gives_the_three_headers(tmp_path):
    private_key, key_id = load_or_create_key_pair(tmp_path)

    headers = sign_delivery(BODY, private_key, key_id, 1_800_000_000)

    assert set(headers) == {
        settings.KEY_ID_HEADER,
        settings.SIGNATURE_HEADER,
        settings.TIMESTAMP_HEADER,
    }
    assert headers[settings.KEY_ID_HEADER] == key_id
    assert headers[settings.TIMESTAMP_HEADER] == "1800000000"
    keys = KeySet.from_jwks(json.loads((tmp_path / "jwks.json").read_text()))
    verify_delivery(headers, BODY, keys, now=1_800_000_000)


# --------------------------------------------------------------------- send
class Receiver:
    """A WSGI endpoint that records what it gets and answers from a script."""

    def __init__(self, answers=()) -> None:
        self.answers = list(answers)
        self.received: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        self.received.append((headers, body))
        status = self.answers.pop(0) if self.answers else "204 No Content"
        extra = [("Location", "/elsewhere")] if status.startswith("3") else []
        start_response(status, [("Content-Length", "0"), *extra])
        return [b""]


@pytest.fixture(scope="module")
def made_key(tmp_path_factory) -> bytes:
    """A private key as the first run writes it, for the tests below that
    are not about making one (a 2048-bit RSA key takes 75 ms to make)."""
    directory = tmp_path_factory.mktemp("made-key")
    load_or_create_key_pair(directory)
    return (directory / "private-key.pem").read_bytes()


@pytest.fixture
def keys(tmp_path, made_key):
    """A key directory as a later run finds it: the key there, read back."""
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "private-key.pem").write_bytes(made_key)
    private_key, key_id = load_or_create_key_pair(tmp_path / "keys")
    jwks = json.loads((tmp_path / "keys" / "jwks.json").read_text())
    return private_key, key_id, KeySet.from_jwks(jwks)


@pytest.fixture
def receiver():
    endpoint = Receiver()
    with LiveServer(endpoint) as server:
        endpoint.url = server.url + "/webhooks"
        yield endpoint


@pytest.mark.parametrize("event", [e.value for e in catalog.EVENTS])
def test_every_event_arrives_signed_as_its_sample(
    receiver, keys, event, capsys
):
    private_key, key_id, key_set = keys

    sender.send_event(event, receiver.url, private_key, key_id)

    [(headers, body)] = receiver.received
    assert json.loads(body) == sample_delivery(event)
    assert headers["content-type"] == "application/json"
    verify_delivery(
        headers, body, key_set
    )  # the receivers' own check, real clock
    assert capsys.readouterr().out == f"{event}: attempt 1: 204 No Content\n"


def test_failures_are_retried_with_exponential_backoff(receiver, keys, capsys):
    private_key, key_id, key_set = keys
    receiver.answers = [
        "500 Internal Server Error",
        "503 Service Unavailable",
        "400 x",
    ]
    waits: list[float] = []

    sender.send_event(
        "batch", receiver.url, private_key, key_id, sleep=waits.append
    )

    assert waits == [1, 2, 4]
    assert len(receiver.received) == 4
    assert (
        len({body for _, body in receiver.received}) == 1
    )  # the same delivery
    for headers, body in receiver.received:
        verify_delivery(headers, body, key_set)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "batch: attempt 1: 500 Internal Server Error"
    assert out[1] == "batch: retrying in 1 s"
    assert out[-1] == "batch: attempt 4: 204 No Content"


def test_each_attempt_is_signed_at_its_own_time(receiver, keys, monkeypatch):
    private_key, key_id, key_set = keys
    receiver.answers = ["502 Bad Gateway"]
    clock = [1_800_000_000.0]
    monkeypatch.setattr(sender.time, "time", lambda: clock[0])

    def sleep(seconds):
        clock[0] += (
            seconds + 600
        )  # a long outage: the first signature is stale

    sender.send_event("rate", receiver.url, private_key, key_id, sleep=sleep)

    stamps = [int(h[settings.TIMESTAMP_HEADER]) for h, _ in receiver.received]
    assert stamps == [1_800_000_000, 1_800_000_601]
    last_headers, body = receiver.received[-1]
    verify_delivery(last_headers, body, key_set, now=clock[0])


def test_a_redirect_is_not_an_acknowledgement(receiver, keys):
    private_key, key_id, _ = keys
    receiver.answers = ["301 Moved Permanently", "302 Found"]
    waits: list[float] = []

    sender.send_event(
        "batch", receiver.url, private_key, key_id, sleep=waits.append
    )

    assert len(receiver.received) == 3  # the redirects were not followed
    assert waits == [1, 2]


def test_giving_up_after_every_attempt_failed(refused_url, keys, capsys):
    private_key, key_id, _ = keys
    waits: list[float] = []

    with pytest.raises(sender.DeliveryFailedError) as raised:
        sender.send_event(
            "track",
            refused_url + "/webhooks",
            private_key,
            key_id,
            sleep=waits.append,
        )

    assert waits == [1, 2, 4, 8]  # five attempts, four waits
    assert "no 2xx" in str(raised.value)
    assert "after 5 attempt(s)" in str(raised.value)
    assert "no answer (ConnectionError)" in str(raised.value)
    assert capsys.readouterr().out.count("attempt") == 5


def test_a_slow_endpoint_times_out_and_is_retried(keys, monkeypatch):
    private_key, key_id, _ = keys
    monkeypatch.setattr(sender, "DELIVERY_TIMEOUT", (1, 0.05))
    waits: list[float] = []

    with SilentServer() as silent:
        with pytest.raises(sender.DeliveryFailedError) as raised:
            sender.send_event(
                "batch",
                silent.url,
                private_key,
                key_id,
                attempts=2,
                sleep=waits.append,
            )
        connections = silent.connections()

    assert "ReadTimeout" in str(raised.value)
    assert connections == 2
    assert waits == [1]


def test_attempts_and_first_wait_can_be_changed(receiver, keys):
    private_key, key_id, _ = keys
    receiver.answers = ["500 x"] * 3
    waits: list[float] = []

    sender.send_event(
        "batch",
        receiver.url,
        private_key,
        key_id,
        attempts=4,
        first_wait=0.5,
        sleep=waits.append,
    )

    assert waits == [0.5, 1, 2]


def test_at_least_one_attempt_is_required(keys):
    private_key, key_id, _ = keys

    with pytest.raises(ValueError, match="at least 1"):
        sender.send_event(
            "batch", "http://127.0.0.1:9/", private_key, key_id, 0
        )


# ---------------------------------------------------------------- the command
@pytest.fixture
def command(monkeypatch, tmp_path, run_main):
    """Run ``python -m snippets.send_test_event ARGS`` with its waits
    recorded."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    monkeypatch.setenv(sender.KEY_DIR_ENV, str(tmp_path / "command-keys"))

    def run(*args: str) -> int:
        monkeypatch.setattr(sys, "argv", ["send_test_event", *args])
        try:
            run_main("snippets.send_test_event")
        except SystemExit as exited:
            return exited.code
        return 0

    run.waits = waits
    run.key_dir = tmp_path / "command-keys"
    return run


def test_the_command_sends_every_event(command, receiver, capsys):
    assert command("all", receiver.url) == 0

    bodies = [json.loads(body) for _, body in receiver.received]
    assert bodies == [sample_delivery(e.value) for e in catalog.EVENTS]
    keys = KeySet.from_jwks(
        json.loads((command.key_dir / "jwks.json").read_text())
    )
    for headers, body in receiver.received:
        verify_delivery(headers, body, keys)
    out = capsys.readouterr().out
    assert f"--local-keys {command.key_dir / 'jwks.json'}" in out
    assert "BEGIN" not in out  # the private key is never printed


def test_the_command_sends_one_event(command, receiver, capsys):
    assert command("track", receiver.url) == 0

    assert [json.loads(b) for _, b in receiver.received] == [
        sample_delivery("track")
    ]


def test_the_command_keeps_its_keys_where_told(command, receiver, monkeypatch):
    command("batch", receiver.url)
    first_id = receiver.received[0][0][settings.KEY_ID_HEADER]
    command("batch", receiver.url)

    assert (command.key_dir / "private-key.pem").exists()
    assert receiver.received[1][0][settings.KEY_ID_HEADER] == first_id


def test_the_command_uses_the_default_key_dir(
    receiver, tmp_path, monkeypatch, run_main
):
    monkeypatch.delenv(sender.KEY_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["send_test_event", "rate", receiver.url])

    run_main("snippets.send_test_event")

    assert (tmp_path / ".local" / "webhook-keys" / "jwks.json").exists()


def test_the_command_fails_when_the_endpoint_never_acknowledges(
    command, refused_url, capsys
):
    code = command("batch", refused_url + "/webhooks", "--attempts", "2")

    assert code == 1
    assert command.waits == [1]
    assert "batch: no 2xx" in capsys.readouterr().err


def test_the_command_refuses_an_unknown_event(command, capsys):
    assert command("tracking", "http://127.0.0.1:9/webhooks") == 2
    assert "invalid choice" in capsys.readouterr().err


# ------------------------------------------------------------ the whole loop
@pytest.fixture(params=["flask", "fastapi"])
def documented_receiver(request, reader):
    """The page's loop, as a reader runs it: the three downloads in one
    folder, the receiver started with ``--local-keys``."""
    receiver = f"receive_{request.param}.py"
    reader.download("send_test_event.py", receiver, "inbox.py")
    env = {"YOURSTORE_INBOX_PATH": "local-inbox.sqlite3"}
    port = free_port()
    with reader.serve(
        sys.executable, receiver, "--local-keys",
        ".local/webhook-keys/jwks.json", "--port", str(port),
        port=port, env=env,
    ) as base:  # fmt: skip
        yield SimpleNamespace(url=f"{base}/webhooks", reader=reader, env=env)


def _run(receiver, *args: str) -> subprocess.CompletedProcess:
    return receiver.reader.run(*args, env=receiver.env, timeout=120)


def _status(receiver) -> dict[str, int]:
    answer = _run(receiver, "inbox.py", "status")
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)


def test_the_pages_loop_sends_stores_and_processes_every_event(
    documented_receiver,
):
    """docs/send-test-event.md, steps 1 to 3 and "Send the same event
    twice"."""
    url = documented_receiver.url

    sent = _run(documented_receiver, "send_test_event.py", "all", url)
    again = _run(documented_receiver, "send_test_event.py", "track", url)
    before = _status(documented_receiver)
    with background(
        documented_receiver.reader, "inbox.py", env=documented_receiver.env
    ) as worker:
        deadline = time.monotonic() + 60
        while _status(documented_receiver) != {"done": len(catalog.EVENTS)}:
            assert worker.poll() is None, worker.stderr.read()
            assert time.monotonic() < deadline, "the worker never finished"
            time.sleep(0.2)

    assert sent.returncode == 0, sent.stderr
    lines = sent.stdout.splitlines()
    assert "--local-keys .local/webhook-keys/jwks.json" in lines[1]
    assert [line.split(":")[0] for line in lines[2:]] == [
        e.value for e in catalog.EVENTS
    ]
    assert all(": attempt 1: 204 " in line for line in lines[2:])
    assert again.returncode == 0, again.stderr
    assert before == {"pending": len(catalog.EVENTS)}


def test_the_pages_unsigned_request_is_refused_and_not_stored(
    documented_receiver,
):
    answer = requests.post(
        documented_receiver.url,
        json=sample_delivery("batch"),
        timeout=30,
    )
    status = _run(documented_receiver, "inbox.py", "status")

    assert answer.status_code == 404
    assert (status.returncode, status.stdout) == (0, "{}\n")  # nothing stored
