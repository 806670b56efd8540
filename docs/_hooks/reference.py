"""mkdocs-gen-files script: the Reference section and ``openapi.json``.

Both come from the one model: operations, events, status codes, errors and
delivery headers from ``snippets.catalog``, field tables from the JSON
Schemas of ``snippets.schemas`` (each field's description and example), names
from ``snippets.settings``, example deliveries from ``snippets.payloads``. The
fake API routes by the same model, so the reference, the document and the
fake cannot disagree.

The script only adds files (the pages under ``reference/`` and
``openapi.json``); it never opens a hand-written page. Tests read the pages
through :func:`generated_pages`.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # mkdocs-gen-files runs this file as a script
    sys.path.insert(0, str(ROOT))

from docs._hooks import openapi, tables  # noqa: E402
from snippets import catalog, payloads, schemas, settings  # noqa: E402
from snippets.verify_signatures import (  # noqa: E402
    VECTOR_BODY,
    VECTOR_JWKS,
    VECTOR_SIGNATURE,
    VECTOR_TIMESTAMP,
)

SECTION = "reference"
OPENAPI = "openapi.json"
# Written at the end of the build by the mkdocs-llmstxt plugin.
LLMS = ("llms.txt", "llms-full.txt")
# The test vector's key set, written beside the Reference pages.
VECTOR_NAME = "test-vector-jwks.json"
VECTOR_FILE = f"{SECTION}/{VECTOR_NAME}"
LONG_EXAMPLE = 24  # characters; longer examples are left to the JSON blocks


# ------------------------------------------------------------------ helpers
def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join(
        "| " + " | ".join(_cell(c) for c in line) + " |" for line in lines
    )


def as_written(text: str) -> str:
    """``text`` as pages write it: the API base as a placeholder, which the
    build fills in."""
    return text.replace(settings.API_BASE, "{{ api_base }}")


def json_block(value: Any, schema: str) -> str:
    body = as_written(json.dumps(value, indent=2, ensure_ascii=False))
    return f'``` {{ .json data-schema="{schema}" }}\n{body}\n```'


def code(value: str) -> str:
    return f"`{value}`"


def status_text(status: int) -> str:
    return code(f"{status} {HTTPStatus(status).phrase}")


def slug(name: str) -> str:
    """The heading id a model name (``tracking_info``) gets on a page."""
    return name.replace("_", "-")


def anchor(operation: catalog.Operation) -> str:
    return slug(operation.operation_id)


def call(operation: catalog.Operation) -> str:
    return f"{operation.method} {operation.path}"


# ------------------------------------------------------------ field tables
# Enumerations of catalog values, named by the page that lists them.
ENUMS = [
    (catalog.EVENT_VALUES, "an [event](events.md) value"),
    (catalog.STATUS_CODES, "a [tracking status code](status-codes.md)"),
    (catalog.ERROR_CODES, "an [error code](errors.md)"),
]


def type_of(schema: dict[str, Any]) -> str:
    """A field's type in words, from its JSON Schema."""
    if "const" in schema:
        return "always " + code(schema["const"])
    if "enum" in schema:
        for values, what in ENUMS:
            if set(schema["enum"]) == values:
                return what
        return "one of " + ", ".join(code(v) for v in schema["enum"])
    kinds = schema.get("type", "any")
    words = []
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if kind == "array":
            items = schema.get("items", {})
            item = "objects" if items.get("type") == "object" else None
            words.append(f"array of {item or type_of(items)}")
        elif kind == "string" and "format" in schema:
            words.append(f"string ({schema['format']})")
        else:
            words.append(kind)
    return " or ".join(words)


def example_cell(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > LONG_EXAMPLE:
        return "see the example"
    return code(as_written(text))


def objects_of(
    schema: dict[str, Any], path: str = ""
) -> list[tuple[str, dict[str, Any]]]:
    """The object ``schema`` describes and every object nested in it, each
    with its path (``""``, ``headers[]``, ``data``, ``data.events[]``)."""
    found = [(path, schema)]
    for name, spec in schema.get("properties", {}).items():
        where = f"{path}.{name}" if path else name
        if "properties" in spec:
            found += objects_of(spec, where)
        if "properties" in spec.get("items", {}):
            found += objects_of(spec["items"], f"{where}[]")
    return found


def field_rows(schema: dict[str, Any]) -> list[list[str]]:
    """One row per field of one object (nested objects get their own)."""
    required = schema.get("required", [])
    return [
        [
            code(name),
            type_of(spec),
            "yes" if name in required else "no",
            spec["description"],
            example_cell(spec["examples"][0]),
        ]
        for name, spec in schema.get("properties", {}).items()
    ]


FIELD_HEADER = ["Field", "Type", "Required", "What it is", "Example"]


def field_table(schema_name: str) -> str:
    """A table of the object's fields, then one per nested object, so each
    stays narrow enough to read."""
    parts = []
    for path, schema in objects_of(schemas.SCHEMAS[schema_name]):
        if path:
            item = "Each item of" if path.endswith("[]") else "The object in"
            parts.append(f"{item} `{path.removesuffix('[]')}`:")
        parts.append(table(FIELD_HEADER, field_rows(schema)))
    return "\n\n".join(parts)


# ------------------------------------------------------------------- pages
def index_page() -> str:
    rows = [
        [f"[{title}]({path.split('/')[-1]})", what]
        for path, (title, what, _) in PAGES.items()
        if path != f"{SECTION}/index.md"
    ]
    return f"""# Reference

The facts of the {{{{ product }}}} webhooks API in one place: every call with
its fields, answers and errors; every event and what its deliveries carry;
how deliveries are signed and retried; the tracking status codes and the
error codes. The guides explain how to use them.

{table(["Page", "What it lists"], rows)}

## Downloads

- [`{OPENAPI}`](../{OPENAPI}): the API as an OpenAPI 3.1 document, with the
  deliveries of every event in its `webhooks` section (body, signature
  headers, the answers a receiver gives). Feed it to a client generator, a
  mock server or a contract test.
- <a href="../{LLMS[0]}">{LLMS[0]}</a>: every page of this site with a
  one-line description, for coding assistants; each page is also published as
  Markdown beside it, and <a href="../{LLMS[1]}">{LLMS[1]}</a> holds them all
  in one file.
"""


def _parameters(operation: catalog.Operation) -> str:
    rows = [
        [code(p.name), p.location, "yes", p.description, code(p.example)]
        for p in operation.parameters
    ]
    header = ["Parameter", "In", "Required", "What it is", "Example"]
    return f"**Parameters**\n\n{table(header, rows)}\n\n"


def _request_body(operation: catalog.Operation) -> str:
    name = operation.request_schema
    assert name is not None
    return (
        "**Request body**: JSON, with `Content-Type: application/json`. Any"
        " field not listed is refused.\n\n"
        f"{field_table(name)}\n\n"
        f"{json_block(openapi.object_example(name, every_field=True), name)}"
        "\n\n"
    )


# Lines above which an example is collapsed, as Material's own docs collapse
# long listings: the tracking record's 45 lines (145 highlighted tokens) were
# the longest block of the API page.
COLLAPSED_LINES = 30


def example_block(value: Any, schema: str, title: str) -> str:
    """``value`` as a JSON block, collapsed under ``title`` when long."""
    block = json_block(value, schema)
    if block.count("\n") <= COLLAPSED_LINES:
        return block
    return f'??? example "{title}"\n\n' + textwrap.indent(block, "    ")


def _answer(operation: catalog.Operation) -> str:
    status = status_text(operation.success_status)
    if operation.response_schema is None:
        return f"**Answer**: {status}, no body.\n\n"
    name = operation.response_schema
    what = OBJECTS[name][0].lower()
    link = f"[{what}](objects.md#{slug(name)})"
    if name == "jwks":
        # An RSA key's modulus is one line of 342 characters: the example
        # key set is a download (the test vector's), not a block.
        return (
            f"**Answer**: {status} with {link}, such as"
            f" [`{VECTOR_NAME}`]"
            f"({VECTOR_NAME}), the [test"
            " vector's](signing.md#a-test-vector).\n\n"
        )
    example = example_block(
        openapi.success_example(operation), name, "An example answer"
    )
    return f"**Answer**: {status} with {link}.\n\n{example}\n\n"


# The error codes every call can answer with, in the model's order: listed
# once on the API page, under SHARED_ERRORS_ANCHOR, not under every call.
SHARED_ERRORS = tuple(
    c
    for c in catalog.OPERATIONS[0].errors
    if all(c in o.errors for o in catalog.OPERATIONS)
)
SHARED_ERRORS_ANCHOR = "errors-any-call-can-get"


def _error_table(codes: list[str], *, gateway: bool) -> str:
    rows = [
        [
            str(catalog.error(c).status),
            f"[{code(c)}](errors.md#{slug(c)})",
            catalog.error(c).meaning,
        ]
        for c in codes
    ]
    if gateway:
        rows += [
            [
                str(s),
                "none",
                "The gateway in front of the API failed; no body.",
            ]
            for s in catalog.GATEWAY_STATUSES
        ]
    rows.sort(key=lambda row: int(row[0]))  # stable: the model's order
    return table(["Status", "error_code", "When"], rows)


def _errors(operation: catalog.Operation) -> str:
    own = [c for c in operation.errors if c not in SHARED_ERRORS]
    shared = f"[those any call can get](#{SHARED_ERRORS_ANCHOR})"
    if not own:
        return f"**Errors**: only {shared}.\n\n"
    return (
        f"**Errors**, besides {shared}:\n\n"
        f"{_error_table(own, gateway=False)}\n\n"
    )


def shared_errors_section() -> str:
    return (
        f"## Errors any call can get {{ #{SHARED_ERRORS_ANCHOR} }}\n\n"
        "Besides the errors listed under each call, any call can be"
        " answered with these:\n\n"
        f"{_error_table(list(SHARED_ERRORS), gateway=True)}\n\n"
    )


def _rate_limit(operation: catalog.Operation) -> str:
    if not operation.rate_limited:
        return "**Rate limit**: none.\n\n"
    return (
        "**Rate limit**: counts against the limit of"
        f" {catalog.RATE_LIMIT_PER_MINUTE} requests a minute; over it, `429`"
        " with `Retry-After`.\n\n"
    )


def operation_section(operation: catalog.Operation) -> str:
    key = (
        f"with your API key in the `{openapi.KEY_HEADER}` header"
        if operation.authenticated
        else "public: no API key"
    )
    text = (
        f"## {operation.summary} {{ #{anchor(operation)} }}\n\n"
        f"`{call(operation)}`, {key}.\n\n"
        f"{operation.description}\n\n"
    )
    if operation.parameters:
        text += _parameters(operation)
    if operation.request_schema is not None:
        text += _request_body(operation)
    text += _answer(operation)
    text += _errors(operation)
    text += _rate_limit(operation)
    return text


# The objects the calls answer with, each described once, on a page of their
# own: on the API page they were a quarter of its elements, and the page was
# the one the phone's Lighthouse run found slow to become responsive.
OBJECTS: dict[str, tuple[str, str]] = {
    "webhook": ("A webhook", "What the create, get and list calls answer."),
    "webhook_list": (
        "A list of webhooks",
        "An array of [webhooks](#webhook), as the list call answers.",
    ),
    "tracking_info": (
        "Tracking information",
        "A package's latest tracking record.",
    ),
    "jwks": (
        "A key set",
        "The platform's public signing keys, as a JSON Web Key Set.",
    ),
    "error": (
        "An error body",
        "What every error answers with; the [error codes](errors.md) list"
        " every code.",
    ),
}


def api_page() -> str:
    rows = [
        [
            f"[{code(call(o))}](#{anchor(o)})",
            o.summary,
            status_text(o.success_status),
        ]
        for o in catalog.OPERATIONS
    ]
    return (
        "# Webhooks API\n\n"
        "Every call the API serves, at {{ api_base }}. Send JSON bodies"
        " with `Content-Type: application/json`; authenticate with your API"
        f" key in the `{openapi.KEY_HEADER}` header. Every error answers with"
        " the same [error body](objects.md#error); the"
        " [API objects](objects.md) page describes each object the calls"
        " answer with.\n\n"
        f"{table(['Call', 'What it does', 'Success'], rows)}\n\n"
        + "".join(operation_section(o) for o in catalog.OPERATIONS)
        + shared_errors_section()
    )


def _object_example(name: str) -> str:
    """An example of the object, every field set, after its fields."""
    if name == "webhook_list":
        return ""  # the webhook's example, in brackets
    if name == "jwks":  # one key's modulus alone is 342 characters wide
        return f"For example, the [test vector's]({VECTOR_NAME}) key set."
    if name == "error":
        value = openapi.error_example(catalog.error("not_found"))
    elif name == "webhook":
        value = openapi.object_example(name, every_field=True)
    else:
        (operation, *_) = [
            o for o in catalog.OPERATIONS if o.response_schema == name
        ]
        value = openapi.success_example(operation)
    return example_block(value, name, "An example")


def _object_section(name: str, title: str, what: str) -> str:
    fields = field_table(name) if "properties" in schemas.SCHEMAS[name] else ""
    parts = [f"## {title} {{ #{slug(name)} }}", what, fields]
    return "\n\n".join(p for p in [*parts, _object_example(name)] if p)


def objects_page() -> str:
    rows = [
        [f"[{title}](#{slug(name)})", what]
        for name, (title, what) in OBJECTS.items()
    ]
    sections = [_object_section(n, *about) for n, about in OBJECTS.items()]
    return (
        "# API objects\n\n"
        "The objects the [Webhooks API](webhooks-api.md) answers with, field"
        " by field.\n\n"
        f"{table(['Object', 'What it is'], rows)}\n\n"
        + "\n\n".join(sections)
        + "\n"
    )


def events_page() -> str:
    rows = [
        [
            tables.event_name(e),
            code(e.value),
            code(e.resource_type),
            e.trigger,
        ]
        for e in catalog.EVENTS
    ]
    header = ["Event", "API value (event)", "resource_type", "Sent when"]
    return (
        "# Events\n\n"
        "A webhook subscribes to one event by its API value, and each event"
        " takes at most one webhook. Every delivery names its event in"
        " `resource_type`; [Payloads](payloads.md) shows the body of each.\n\n"
        f"{table(header, rows)}\n"
    )


def payloads_page() -> str:
    sections = []
    for event in catalog.EVENTS:
        name = f"delivery_{event.value}"
        sections.append(
            f"## {event.name} {{ #{slug(event.value)} }}\n\n"
            f"`{event.value}`: {event.trigger}\n\n"
            f"{field_table(name)}\n\n"
            f"{json_block(payloads.sample_delivery(event.value), name)}\n"
        )
    return (
        "# Payloads\n\n"
        "Every delivery is a `POST` to your webhook's URL with a JSON body,"
        " `Content-Type: application/json` and the [signature"
        " headers](signing.md). A `track` delivery carries the package's"
        " tracking record in `data`; every other event is thin: it names"
        " the object that changed (`resource_url`), to fetch with your API"
        " key.\n\n" + "\n".join(sections)
    )


def signing_page() -> str:
    examples = openapi.VECTOR_HEADERS
    rows = [
        [
            code(h.name),
            h.holds,
            code(examples[h.name])
            if len(examples[h.name]) <= LONG_EXAMPLE
            else "[the test vector's](#a-test-vector)",
        ]
        for h in catalog.DELIVERY_HEADERS
    ]
    jwks = catalog.operation("get_signing_keys")
    jwks_call = f"[`{call(jwks)}`](webhooks-api.md#{anchor(jwks)})"
    return f"""# Delivery headers and signing

How the platform signs every delivery, and where to find the keys that
check the signature. Every delivery carries three headers besides
`Content-Type: application/json`:

{table(["Header", "What it holds", "Example"], rows)}

The platform signs the text `{catalog.SIGNED_TEXT}`: the timestamp header's
value, a dot, and the raw body byte for byte. The algorithm is
**{catalog.SIGNATURE_ALGORITHM}**. Verify the signature on the raw body,
before any parsing; [Verify signatures](../verify-signatures.md) shows how.

## The public keys

The keys are published as a JSON Web Key Set at
`{{{{ api_base }}}}{jwks.path}` ({jwks_call}),
with no API key needed. The key id header names the key that signed a
delivery.

{field_table("jwks")}

## A test vector

This key set, key id, timestamp and body give this signature: a verifier
that accepts it, and refuses the body changed by one byte, checks signatures
the way the platform makes them.

- Key set: [`{VECTOR_NAME}`]({VECTOR_NAME}), one
  RSA key (its modulus alone is {len(VECTOR_JWKS["keys"][0]["n"])} characters
  long, so it is a download)
- Key id: `{VECTOR_JWKS["keys"][0]["kid"]}`
- Timestamp: `{VECTOR_TIMESTAMP}`
- Body: `{as_written(VECTOR_BODY.decode())}`
- Signature: `{VECTOR_SIGNATURE}`
"""


def _rule(name: str) -> str:
    """A delivery rule's value in words."""
    rule = catalog.delivery_rule(name)
    return (
        "not published" if rule.value is None else f"{rule.value} {rule.unit}"
    )


def schedule_rows() -> list[list[str]]:
    """When each attempt is sent, from the delivery rules."""
    attempts = catalog.delivery_rule("attempts").value
    interval = catalog.delivery_rule("retry_interval").value
    unit = catalog.delivery_rule("retry_interval").unit
    assert attempts is not None
    assert interval is not None
    return [["1", "when the event happens"]] + [
        [str(n + 1), f"about {n * interval} {unit} after the first"]
        for n in range(1, attempts)
    ]


def delivery_rules_page() -> str:
    first, last = (
        catalog.DELIVERED_STATUSES[0],
        catalog.DELIVERED_STATUSES[-1],
    )
    success = f"an answer with a `2xx` status ({first} to {last})"
    timeout = catalog.delivery_rule("answer_timeout")
    gives_up = catalog.delivery_rule("gives_up_after")
    rows = [
        ["What counts as success", success, catalog.DELIVERED_SOURCE],
        ["Attempts", f"up to {_rule('attempts')}", _source("attempts")],
        [
            "Time between attempts",
            f"about {_rule('retry_interval')}",
            _source("retry_interval"),
        ],
        [
            "When it gives up",
            f"about {_rule('gives_up_after')} after the first attempt",
            gives_up.source,
        ],
        [
            "How long it waits for an answer",
            _rule(timeout.name),
            timeout.source,
        ],
    ]
    return (
        "# Delivery rules\n\n"
        "How the platform delivers each event to your webhook's URL, and"
        " when it stops trying. [Delivery"
        " semantics](../delivery-semantics.md) explains what the rules mean"
        " for a receiver.\n\n"
        f"{table(['Rule', 'Value', 'Source'], rows)}\n\n"
        "Any other answer is a failed attempt, and so is a connection that"
        " is refused, reset, or silent for too long.\n\n"
        "## Retry schedule\n\n"
        f"{table(['Attempt', 'Sent'], schedule_rows())}\n\n"
        "After the last attempt the delivery is dropped: an endpoint down for"
        f" longer than about {_rule('gives_up_after')} loses what was sent"
        " meanwhile.\n"
    )


def _source(name: str) -> str:
    return catalog.delivery_rule(name).source


def status_codes_page() -> str:
    rows = [
        [
            code(s.code),
            s.name,
            s.meaning,
            "yes" if s.final else "no",
            s.receiver_action,
        ]
        for s in catalog.TRACKING_STATUSES
    ]
    header = ["Code", "Status", "What it means", "Final", "What to do"]
    return (
        "# Tracking status codes\n\n"
        "The `status_code` of a `track` delivery and of the tracking call's"
        " answer, normalised across carriers. After a final status no"
        " further updates are expected.\n\n"
        f"{table(header, rows)}\n"
    )


def errors_page() -> str:
    rows = [
        [
            str(e.status),
            f"`{e.error_code}`{{ #{slug(e.error_code)} }}"
            f" ({code(e.error_type)})",
            e.meaning,
            e.what_to_do,
            "yes" if e.retried else "no",
        ]
        for e in catalog.ERRORS
    ]
    header = [
        "Status",
        "error_code (error_type)",
        "What it means",
        "What to do",
        "Retried",
    ]
    gateway = " and ".join(code(str(s)) for s in catalog.GATEWAY_STATUSES)
    example = openapi.error_example(catalog.error("not_found"))
    return (
        "# Error codes\n\n"
        "Every error answers with the same JSON body; branch on its"
        " `error_code`. The [Webhooks API](webhooks-api.md) lists the errors"
        " each call can answer with; *Retried* says whether the [client"
        " session](../client.md) retries one by itself.\n\n"
        f"{field_table('error')}\n\n"
        f"{json_block(example, 'error')}\n\n"
        "## Every error code\n\n"
        f"{table(header, rows)}\n\n"
        f"{gateway} come from the gateway in front of the API, with no body:"
        " retry them with backoff, as the [client"
        " session](../client.md) does.\n"
    )


# ----------------------------------------------------------- the section
# docs-relative path: (nav title, what it lists, the function that writes it)
PAGES: dict[str, tuple[str, str, Callable[[], str]]] = {
    f"{SECTION}/index.md": (
        "Reference",
        "The facts of the webhooks API in one place: calls, events,"
        " payloads, signing, delivery rules, status codes and error codes.",
        index_page,
    ),
    f"{SECTION}/webhooks-api.md": (
        "Webhooks API",
        "Every call: method and path, body fields, answer, errors and the"
        " rate limit.",
        api_page,
    ),
    f"{SECTION}/objects.md": (
        "API objects",
        "The objects the calls answer with, field by field: a webhook, a"
        " list of webhooks, tracking information, a key set, an error body.",
        objects_page,
    ),
    f"{SECTION}/events.md": (
        "Events",
        "Every event: its API value, its resource_type, when it is sent.",
        events_page,
    ),
    f"{SECTION}/payloads.md": (
        "Payloads",
        "The body of each event's deliveries, field by field, with an"
        " example.",
        payloads_page,
    ),
    f"{SECTION}/signing.md": (
        "Delivery headers and signing",
        "The signature headers, what is signed and how, the public keys and"
        " a test vector.",
        signing_page,
    ),
    f"{SECTION}/delivery-rules.md": (
        "Delivery rules",
        "What counts as a delivered event, how many attempts the platform"
        " makes and when, when it gives up, and how long it waits.",
        delivery_rules_page,
    ),
    f"{SECTION}/status-codes.md": (
        "Tracking status codes",
        "Every tracking status code, what it means and whether it is final.",
        status_codes_page,
    ),
    f"{SECTION}/errors.md": (
        "Error codes",
        "The error body and every error code: status, meaning, what to do"
        " and whether the client session retries it.",
        errors_page,
    ),
}


def front_matter(description: str) -> str:
    """The page's description (the home page lists it, and Material puts it
    in the page's meta description), and a search boost of a tenth: site
    search lists a guide before the Reference page that lists the same
    value, because the guide explains it."""
    # JSON is YAML: the description goes in as a quoted string.
    return (
        f"---\ndescription: {json.dumps(description)}\n"
        "search:\n  boost: 0.1\n---\n\n"
    )


def generated_pages() -> dict[str, str]:
    """Every page of the Reference: docs-relative path -> Markdown."""
    return {
        path: front_matter(what) + build()
        for path, (_, what, build) in PAGES.items()
    }


def generate() -> None:
    import mkdocs_gen_files

    for path, markdown in generated_pages().items():
        with mkdocs_gen_files.open(path, "w") as page:
            page.write(markdown)
        # The edit link leads to this script, where the page comes from.
        mkdocs_gen_files.set_edit_path(path, "_hooks/reference.py")
    with mkdocs_gen_files.open(OPENAPI, "w") as document:
        document.write(openapi.text())
    with mkdocs_gen_files.open(VECTOR_FILE, "w") as keys:
        keys.write(json.dumps(VECTOR_JWKS, indent=2) + "\n")


if __name__ == "<run_path>":  # how mkdocs-gen-files runs its scripts
    generate()
