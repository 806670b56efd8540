"""Tests for snippets/testing.py (page: docs/testing.md).

snippets/testing.py is a pytest module for readers. The suite collects it
where it is (``testpaths`` in pyproject.toml); these tests check that it runs
on its own and fails when the code it tests breaks.
"""

import inspect

import pytest
from requests_mock.exceptions import NoMockAddress

import snippets.testing
from snippets import schemas
from snippets.client import ApiError, api_call
from snippets.create_webhook import create_webhook
from snippets.settings import API_KEY_ENV
from snippets.testing import api_error
from tests.support.paths import ROOT

READER_TESTS = sorted(
    n for n in vars(snippets.testing) if n.startswith("test_")
)


def test_the_suite_collects_the_module_where_it_is():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    testpaths = config["tool"]["pytest"]["ini_options"]["testpaths"]
    assert "snippets/testing.py" in testpaths
    assert len(READER_TESTS) == 5


def test_the_download_passes_under_pytest_as_the_page_says(reader):
    """``pytest testing.py`` in a folder that holds the download alone."""
    reader.download("testing.py")

    result = reader.run("-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "testing.py")  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(READER_TESTS)} passed" in result.stdout


@pytest.mark.parametrize(
    ("error_code", "error_type"),
    [
        ("webhook_event_type_conflict", "business_rules"),
        ("unauthorized", "security"),
        ("service_unavailable", "system"),
    ],
)
def test_the_mocked_error_bodies_are_the_platform_s_shape(
    error_code, error_type
):
    assert not schemas.problems(
        "error", api_error(error_code, error_type, "m")
    )


def _never_moves(session, url, event):
    """A broken ensure_webhook: gives up on a 409 instead of moving the
    webhook."""
    try:
        return create_webhook(session, url, event)
    except ApiError as error:
        return {"error": error.error_code}


def _always_puts(session, url, event):
    """A broken ensure_webhook: PUTs even when nothing changes."""
    hooks = api_call(session, "GET", "/v1/environment/webhooks")
    api_call(
        session,
        "PUT",
        f"/v1/environment/webhooks/{hooks[0]['webhook_id']}",
        json={"url": url},
    )
    return hooks[0]


@pytest.mark.parametrize(
    ("broken", "reader_test", "failure"),
    [
        (
            _never_moves,
            "test_moves_the_existing_webhook_after_a_409",
            AssertionError,
        ),
        (
            _always_puts,
            "test_changes_nothing_when_already_set_up",
            NoMockAddress,
        ),
        (
            lambda s, u, e: {"webhook_id": "1"},
            "test_creates_the_webhook",
            AssertionError,
        ),
        (
            lambda s, u, e: None,
            "test_a_bad_key_surfaces_the_api_s_message",
            pytest.fail.Exception,
        ),
    ],
)
def test_the_reader_s_tests_catch_a_broken_implementation(
    requests_mock, monkeypatch, broken, reader_test, failure
):
    monkeypatch.setenv(API_KEY_ENV, "test-key")
    monkeypatch.setattr(snippets.testing, "ensure_webhook", broken)
    test = getattr(snippets.testing, reader_test)
    if "taken" in inspect.signature(test).parameters:  # what the fixture does
        conflict = api_error(
            "webhook_event_type_conflict", "business_rules", ""
        )
        requests_mock.post(
            snippets.testing.WEBHOOKS, status_code=409, json=conflict
        )

    with pytest.raises(failure):
        test(requests_mock)
