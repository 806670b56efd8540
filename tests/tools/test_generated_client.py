"""A client generated from ``openapi.json`` works against the fake.

openapi-python-client turns the document into a typed Python package, as an
integrator would; the package then creates and lists webhooks, and meets a
conflict, against the fake API over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from docs._hooks import openapi
from tests.support.fake_api import TEST_API_KEY, FakeApi
from tests.support.servers import LiveServer

PACKAGE = "webhooks_client"


@pytest.fixture
def generated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The package generated from the document, importable."""
    document = tmp_path / "openapi.json"
    document.write_text(openapi.text())
    config = tmp_path / "config.json"
    config.write_text('{"post_hooks": []}')  # no formatting: it only runs
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    monkeypatch.syspath_prepend(str(tmp_path))
    yield PACKAGE
    for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def test_a_generated_client_creates_and_lists_webhooks(generated):
    client_module = importlib.import_module(generated)
    create = importlib.import_module(
        f"{generated}.api.webhooks.create_webhook"
    )
    listing = importlib.import_module(
        f"{generated}.api.webhooks.list_webhooks"
    )
    models = importlib.import_module(f"{generated}.models")
    fake = FakeApi(api_key=TEST_API_KEY)

    with LiveServer(fake.wsgi_app) as server:
        client = client_module.AuthenticatedClient(
            base_url=server.url,
            token=TEST_API_KEY,
            prefix="",
            auth_header_name=openapi.KEY_HEADER,
        )
        body = models.CreateWebhookRequest(
            url="https://example.com/webhooks",
            event=models.CreateWebhookRequestEvent.TRACK,
            name="Tracking updates",
            store_id=12,
        )
        created = create.sync(client=client, body=body)
        listed = listing.sync(client=client)
        conflict = create.sync_detailed(client=client, body=body)

    assert isinstance(created, models.Webhook)
    assert (created.event, created.name, created.store_id) == (
        models.WebhookEvent.TRACK,
        "Tracking updates",
        12,
    )
    assert [hook.to_dict() for hook in listed] == [created.to_dict()]
    assert fake.webhooks == {created.webhook_id: created.to_dict()}
    assert conflict.status_code == 409
    assert isinstance(conflict.parsed, models.Error)
    assert conflict.parsed.errors[0].error_code.value == (
        "webhook_event_type_conflict"
    )
