"""Tests for snippets/catalog.py, the source of truth the site's tables come
from."""

import re

import pytest

from snippets import catalog


def test_lookups_find_each_entry():
    for event in catalog.EVENTS:
        assert catalog.event(event.value) is event
    for error in catalog.ERRORS:
        assert catalog.error(error.error_code) is error


def test_lookups_of_unknown_values_fail_loudly():
    with pytest.raises(StopIteration):
        catalog.event("tracking")
    with pytest.raises(StopIteration):
        catalog.error("teapot")


def test_values_are_unique():
    assert len(catalog.EVENT_VALUES) == len(catalog.EVENTS)
    assert len(catalog.STATUS_CODES) == len(catalog.TRACKING_STATUSES)
    assert len(catalog.ERROR_CODES) == len(catalog.ERRORS)


def test_one_event_carries_its_second_name():
    renamed = [e for e in catalog.EVENTS if e.also_called]
    assert [(e.value, e.also_called) for e in renamed] == [
        ("order_source_refresh_complete", "Store refresh completed")
    ]


def test_exactly_the_rate_limit_and_system_errors_are_retried():
    assert {e.status for e in catalog.ERRORS if e.retried} == {429, 500, 503}


def test_every_entry_is_described():
    for event in catalog.EVENTS:
        assert event.name
        assert event.trigger.endswith(".")
    for status in catalog.TRACKING_STATUSES:
        assert status.name
        assert status.meaning
        assert status.receiver_action
    for error in catalog.ERRORS:
        assert error.meaning
        assert error.what_to_do


def test_operations_name_real_errors_schemas_and_path_parameters():
    from snippets import schemas

    for operation in catalog.OPERATIONS:
        assert catalog.operation(operation.operation_id) is operation
        statuses = [catalog.error(code).status for code in operation.errors]
        assert statuses == sorted(statuses), operation.operation_id
        for name in (operation.request_schema, operation.response_schema):
            assert name is None or name in schemas.SCHEMAS
        in_path = set(re.findall(r"\{(\w+)\}", operation.path))
        assert in_path == {
            p.name for p in operation.parameters if p.location == "path"
        }
        assert operation.summary
        assert operation.description.endswith(".")
    assert len({o.operation_id for o in catalog.OPERATIONS}) == len(
        catalog.OPERATIONS
    )
    with pytest.raises(StopIteration):
        catalog.operation("patch_webhook")


def test_every_call_but_the_public_keys_needs_the_key_and_is_rate_limited():
    for operation in catalog.OPERATIONS:
        assert operation.rate_limited
        assert ("unauthorized" in operation.errors) is operation.authenticated
