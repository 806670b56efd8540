"""openapi.json: what the built site publishes, held to OpenAPI 3.1 and to the
model it is generated from.

How the fake API answers against it is tested in
``tests/tools/test_fake_api_conformance.py``; a client generated from it, in
``tests/tools/test_generated_client.py``.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from docs._hooks import openapi
from snippets import catalog, payloads, schemas, settings
from snippets.verify_signatures import KeySet, verify_delivery
from tests.support.receivers import documented_answers

DOCUMENT = openapi.document()


def _spec_validator() -> type:
    """OpenAPI 3.1's validator, imported where used: importing it takes most
    of a second, which every test worker would pay at collection."""
    from openapi_spec_validator import OpenAPIV31SpecValidator

    return OpenAPIV31SpecValidator


def resolved(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for ``schema`` that resolves the document's $refs."""
    root = Draft202012Validator(
        DOCUMENT, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return root.evolve(schema=schema)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in DOCUMENT["paths"].items()
        for method, operation in methods.items()
    ]


def test_the_site_publishes_the_document(built_site):
    assert json.loads((built_site / "openapi.json").read_text()) == DOCUMENT


def test_it_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"] == "3.1.0"
    errors = list(_spec_validator()(DOCUMENT).iter_errors())
    assert not errors, [error.message for error in errors]


def test_an_invalid_document_is_refused():
    broken = json.loads(openapi.text())
    one = broken["paths"][settings.WEBHOOKS_PATH + "/{webhook_id}"]
    one["get"]["parameters"][0]["in"] = "body"  # Swagger 2.0, not 3.1
    assert list(_spec_validator()(broken).iter_errors())


def test_every_operation_of_the_model_is_there_and_nothing_else():
    found = {(m, p): o["operationId"] for m, p, o in operations()}
    assert found == {
        (o.method, o.path): o.operation_id for o in catalog.OPERATIONS
    }
    assert DOCUMENT["servers"] == [{"url": settings.API_BASE}]


@pytest.mark.parametrize(
    "operation", catalog.OPERATIONS, ids=lambda o: o.operation_id
)
def test_each_operation_documents_every_answer_it_can_give(operation):
    documented = DOCUMENT["paths"][operation.path][operation.method.lower()]
    responses = documented["responses"]
    statuses = {
        operation.success_status,
        *(catalog.error(c).status for c in operation.errors),
        *catalog.GATEWAY_STATUSES,
    }

    assert set(responses) == {str(s) for s in statuses}
    success = responses[str(operation.success_status)]
    if operation.response_schema is None:
        assert "content" not in success
    else:
        media = success["content"]["application/json"]
        assert media["schema"] == openapi.ref(operation.response_schema)
    for code in operation.errors:
        error = catalog.error(code)
        media = responses[str(error.status)]["content"]["application/json"]
        assert media["schema"] == openapi.ref("error")
        assert code in media["examples"]
        assert code in responses[str(error.status)]["description"]
    for status in catalog.GATEWAY_STATUSES:
        assert "content" not in responses[str(status)]
    if operation.rate_limited:
        retry_after = responses["429"]["headers"]["Retry-After"]
        assert retry_after["required"] is True
    if operation.request_schema is not None:
        body = documented["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"] == openapi.ref(
            operation.request_schema
        )
    else:
        assert "requestBody" not in documented
    assert [p["name"] for p in documented.get("parameters", [])] == [
        p.name for p in operation.parameters
    ]
    assert ("security" in documented) is (not operation.authenticated)


def test_the_key_goes_in_the_api_key_header():
    scheme = DOCUMENT["components"]["securitySchemes"][openapi.SECURITY_SCHEME]
    assert (scheme["type"], scheme["in"], scheme["name"]) == (
        "apiKey",
        "header",
        "API-Key",
    )
    assert DOCUMENT["security"] == [{openapi.SECURITY_SCHEME: []}]


def test_the_schemas_are_the_shared_ones():
    """The components are the shared schemas, with copies of one another
    turned into $refs: they accept and refuse the same documents."""
    components = DOCUMENT["components"]["schemas"]
    assert set(components) == set(schemas.SCHEMAS) - {"receiver_delivery"}
    samples = [
        openapi.object_example("webhook", every_field=True),
        openapi.object_example("webhook"),
        [openapi.object_example("webhook")],
        [{"webhook_id": "1"}],
        openapi.error_example(catalog.error("not_found")),
        openapi.success_example(catalog.operation("get_tracking_info")),
        openapi.success_example(catalog.operation("get_signing_keys")),
        *(payloads.sample_delivery(e.value) for e in catalog.EVENTS),
        {},
    ]
    for name in components:
        for sample in samples:
            assert resolved(openapi.ref(name)).is_valid(sample) is (
                schemas.validator(name).is_valid(sample)
            ), (name, sample)
    assert '"$ref"' in json.dumps(components["webhook_list"])


def test_links_lead_from_a_webhook_to_its_other_calls():
    create = DOCUMENT["paths"][settings.WEBHOOKS_PATH]["post"]
    links = create["responses"]["200"]["links"]
    assert {name: link["parameters"] for name, link in links.items()} == {
        target: {"webhook_id": "$response.body#/webhook_id"}
        for target in ("get_webhook", "update_webhook", "delete_webhook")
    }
    one = DOCUMENT["paths"][settings.WEBHOOKS_PATH + "/{webhook_id}"]
    after_delete = one["delete"]["responses"]["204"]["links"]
    assert after_delete["get_webhook"]["parameters"] == {
        "webhook_id": "$request.path.webhook_id"
    }


def examples(node: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """Every (place, schema, example) pair in the document."""
    found = []
    if isinstance(node, dict):
        if "schema" in node:
            if "example" in node:
                found.append((where, node["schema"], node["example"]))
            for name, example in node.get("examples", {}).items():
                found.append(
                    (f"{where}/{name}", node["schema"], example["value"])
                )
        for key, value in node.items():
            found += examples(value, f"{where}/{key}")
    return found


def test_every_example_matches_its_schema():
    found = examples(DOCUMENT["paths"]) + examples(DOCUMENT["webhooks"])
    assert len(found) > 50
    for where, schema, example in found:
        errors = list(resolved(schema).iter_errors(example))
        assert not errors, f"{where}: {errors[0].message}"


def test_the_examples_are_the_sites_own():
    hooks = DOCUMENT["webhooks"]
    for event in catalog.EVENTS:
        body = hooks[event.value]["post"]["requestBody"]["content"]
        assert body["application/json"]["example"] == payloads.sample_delivery(
            event.value
        )
    listing = DOCUMENT["paths"][settings.WEBHOOKS_PATH]["get"]
    [hook] = listing["responses"]["200"]["content"]["application/json"][
        "example"
    ]
    assert hook["url"] == "https://example.com/webhooks"
    assert hook["webhook_id"] == "5519"


# ------------------------------------------------------------------ webhooks
def test_there_is_one_webhook_per_event():
    assert list(DOCUMENT["webhooks"]) == [e.value for e in catalog.EVENTS]


@pytest.mark.parametrize("event", catalog.EVENTS, ids=lambda e: e.value)
def test_every_sample_delivery_conforms_to_its_webhook(event):
    body = DOCUMENT["webhooks"][event.value]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    for other in catalog.EVENTS:
        delivery = payloads.sample_delivery(other.value)
        assert resolved(schema).is_valid(delivery) is (other == event), (
            other.value
        )


def test_every_delivery_carries_the_three_signature_headers():
    headers = {settings.KEY_ID_HEADER, settings.SIGNATURE_HEADER}
    headers.add(settings.TIMESTAMP_HEADER)
    for event, webhook in DOCUMENT["webhooks"].items():
        post = webhook["post"]
        assert {
            p["name"] for p in post["parameters"] if p["in"] == "header"
        } == headers, event
        assert all(p["required"] for p in post["parameters"])
        assert post["security"] == []


def test_the_signature_examples_verify_the_batch_example():
    post = DOCUMENT["webhooks"]["batch"]["post"]
    shown = {p["name"]: p["example"] for p in post["parameters"]}
    body = post["requestBody"]["content"]["application/json"]["example"]
    jwks_call = DOCUMENT["paths"][settings.JWKS_PATH]["get"]
    jwks = jwks_call["responses"]["200"]["content"]["application/json"][
        "example"
    ]
    compact = json.dumps(body, separators=(",", ":")).encode()

    verify_delivery(
        shown,
        compact,
        KeySet.from_jwks(jwks),
        now=int(shown[settings.TIMESTAMP_HEADER]),
    )


def test_the_receivers_documented_answers_are_the_webhooks_responses():
    """Both receivers answer as the table on the Receive deliveries page
    says (tests/snippets/test_receive.py); every answer in it is a response
    of every webhook, named by its case."""
    answers = documented_answers()
    for event, webhook in DOCUMENT["webhooks"].items():
        responses = webhook["post"]["responses"]
        for case, status in answers.items():
            assert f"**{case}**" in responses[str(status)]["description"], (
                event,
                case,
            )
        statuses = {s for s in responses if s != "5XX"}
        assert statuses == {str(s) for s in answers.values()}, event
        assert [s for s in statuses if s.startswith("2")] == [
            str(answers["Accepted"])
        ]
        assert "5XX" in responses


def test_every_status_is_described_with_its_phrase():
    for _, _, operation in operations():
        for status, response in operation["responses"].items():
            phrase = HTTPStatus(int(status)).phrase
            assert response["description"].startswith((phrase, "Done")), (
                operation["operationId"],
                status,
            )
