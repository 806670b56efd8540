"""Tests for snippets/schemas.py: the JSON Schemas every check shares.

The Reference's field tables and ``openapi.json`` show each field's
description and example, so every field must have both, and every example
must be a value its field accepts.
"""

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from snippets import schemas


def fields(schema: Any, where: str = "") -> list[tuple[str, dict]]:
    """Every named field of ``schema``, nested ones included."""
    found: list[tuple[str, dict]] = []
    if isinstance(schema, dict):
        for name, field in schema.get("properties", {}).items():
            found.append((f"{where}{name}", field))
            found += fields(field, f"{where}{name}.")
        if isinstance(schema.get("items"), dict):
            found += fields(schema["items"], f"{where}[].")
        for option in schema.get("oneOf", []):
            found += fields(option, where)
    return found


@pytest.mark.parametrize("name", sorted(schemas.SCHEMAS))
def test_every_schema_is_valid_draft_2020_12(name):
    Draft202012Validator.check_schema(schemas.SCHEMAS[name])


@pytest.mark.parametrize(
    "name", sorted(set(schemas.SCHEMAS) - {"receiver_delivery"})
)
def test_every_field_has_a_description_and_an_example_it_accepts(name):
    found = fields(schemas.SCHEMAS[name])
    assert found
    for where, field in found:
        assert field.get("description", "").endswith("."), f"{name}: {where}"
        [example] = field["examples"]
        validator = Draft202012Validator(
            field, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        assert validator.is_valid(example), f"{name}: {where}: {example!r}"


def test_request_fields_say_what_their_value_must_be():
    for name in ("create_webhook_request", "update_webhook_request"):
        for field, spec in schemas.SCHEMAS[name]["properties"].items():
            assert spec["x-expected"].startswith(("a ", "an ", "one ")), field


def test_problems_name_the_field_at_fault():
    assert schemas.problems("webhook", {"webhook_id": "1"}) == [
        "(root): 'url' is a required property",
        "(root): 'event' is a required property",
    ]
    [problem] = schemas.problems(
        "create_webhook_request", {"url": "x", "event": "batch"}
    )
    assert problem.startswith("url: 'x' does not match")


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://example.com/webhooks", True),
        ("http://127.0.0.1:5000/webhooks?tenant=1", True),
        ("https://exämple.com/ü", True),
        ("example.com/webhooks", False),
        ("ftp://example.com", False),
        ("https://", False),
        ("https://a b", False),
        ("https://@\x1e", False),
        ("https://a\x7f", False),
        ("https://a/\xa0", False),
        ("https://a/\u2028", False),
    ],
)
def test_a_url_has_no_control_character_and_no_whitespace(url, valid):
    """Whitespace as Python's re and JSON Schema's ECMA-262 dialect each
    see it, so the fake and every client tool agree on what is a URL."""
    field = schemas.SCHEMAS["create_webhook_request"]["properties"]["url"]
    assert Draft202012Validator(field).is_valid(url) is valid
