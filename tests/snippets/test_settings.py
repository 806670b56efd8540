"""Tests for snippets/settings.py, the one place for names and URLs."""

import importlib

import pytest

from snippets import settings


def test_header_names_follow_the_product_name():
    slug = settings.PRODUCT_NAME.lower()
    assert settings.KEY_ID_HEADER == f"x-{slug}-rsa-sha256-key-id"
    assert settings.SIGNATURE_HEADER == f"x-{slug}-rsa-sha256-signature"
    assert settings.TIMESTAMP_HEADER == f"x-{slug}-timestamp"


def test_the_api_base_is_https_without_a_trailing_slash():
    assert settings.API_BASE.startswith("https://")
    assert not settings.API_BASE.endswith("/")


def test_the_api_base_can_be_pointed_elsewhere(monkeypatch):
    monkeypatch.setenv("YOURSTORE_API_BASE", "http://127.0.0.1:9999")
    try:
        assert importlib.reload(settings).API_BASE == "http://127.0.0.1:9999"
    finally:
        monkeypatch.delenv("YOURSTORE_API_BASE")
        importlib.reload(settings)
    assert settings.API_BASE == "https://api.yourstore.com"


def test_every_timeout_is_finite():
    connect, read = settings.TIMEOUT
    assert 0 < connect < read <= 60


@pytest.mark.parametrize(
    ("line", "headers", "status"),
    [
        (settings.MAX_REQUEST_LINE, [settings.MAX_HEADER_LINE], None),
        (settings.MAX_REQUEST_LINE + 1, [], 414),
        (30, [10] * settings.MAX_HEADER_LINES, None),
        (30, [10] * (settings.MAX_HEADER_LINES + 1), 431),
        (30, [10, settings.MAX_HEADER_LINE + 1], 431),
        (30, [], None),
    ],
)
def test_a_head_is_refused_only_past_a_limit(line, headers, status):
    refused = settings.head_too_large(line, headers)

    assert (refused[1] if refused else None) == status
