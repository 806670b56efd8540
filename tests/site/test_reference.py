"""The Reference section, generated from the model, read back from the built
site and compared with the model.

The pages come from ``docs/_hooks/reference.py`` (``generated_pages()``);
their code blocks are also checked with every other block of the site in
``test_blocks.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from bs4 import Tag

from docs._hooks import reference
from snippets import catalog, payloads, schemas, settings
from snippets.verify_signatures import VECTOR_JWKS, VECTOR_SIGNATURE
from tests.support.fake_api import TEST_API_KEY, FakeApi
from tests.support.site import (
    BuiltSite,
    article,
    html_path,
    parsed,
    source_pages,
    written_fences,
)

GENERATED = reference.generated_pages()
API = "reference/webhooks-api.md"
OBJECTS = "reference/objects.md"


def soup_of(site: Path, page: str) -> Tag:
    return article(parsed(site / html_path(page)))


def text(node: Tag) -> str:
    return " ".join(node.get_text().split()).replace("¶", "").strip()


def section(article: Tag, anchor: str) -> list[Tag]:
    """The elements under the heading with id ``anchor``, up to the next
    heading of the same level."""
    heading = article.find(id=anchor)
    assert heading is not None, f"no heading #{anchor}"
    found = []
    for sibling in heading.find_next_siblings():
        if sibling.name == heading.name:
            break
        found.append(sibling)
    return found


def table_rows(table: Tag) -> list[list[str]]:
    return [
        [text(td) for td in tr.find_all("td")]
        for tr in table.select("tbody tr")
    ]


def tables(elements: list[Tag]) -> list[Tag]:
    return [e for e in elements if e.name == "table"]


def expected_tables(schema: dict[str, Any]) -> list[list[list[str]]]:
    """The field tables an object must have, its own first, then one per
    nested object: name, required, meaning, example of each field."""
    rows, nested = [], []
    for name, spec in schema.get("properties", {}).items():
        example = json.dumps(spec["examples"][0], ensure_ascii=False)
        rows.append(
            [
                name,
                "yes" if name in schema.get("required", []) else "no",
                spec["description"],
                example
                if len(example) <= reference.LONG_EXAMPLE
                else "see the example",
            ]
        )
        if "properties" in spec:
            nested += expected_tables(spec)
        if "properties" in spec.get("items", {}):
            nested += expected_tables(spec["items"])
    return [rows, *nested]


def field_tables(elements: list[Tag]) -> list[list[list[str]]]:
    """name, required, meaning, example of each row of each field table."""
    return [
        [[r[0], r[2], r[3], r[4]] for r in table_rows(t)]
        for t in tables(elements)
        if text(t.find("th")) == "Field"
    ]


# ------------------------------------------------------------------ the pages
def test_every_generated_page_is_built_and_in_the_nav(built_site):
    # navigation.prune: the Reference section is open on its own index.
    index = parsed(built_site / "reference" / "index.html")
    nav = {
        urljoin("reference/", a["href"]).removesuffix("/")
        for a in index.select("nav.md-nav a[href]")
    }
    for page in GENERATED:
        assert (built_site / html_path(page)).is_file(), page
        assert (
            html_path(page)
            .removesuffix("/index.html")
            .removesuffix("index.html")
            .rstrip("/")
            in nav
        ), page


def test_the_titles_are_the_nav_titles(built_site):
    for page, (title, _, _) in reference.PAGES.items():
        heading = soup_of(built_site, page).find("h1")
        assert text(heading) == title, page


def test_the_generator_writes_no_hand_written_page():
    written = set(source_pages())
    assert not set(GENERATED) & written
    assert all(page.startswith(f"{reference.SECTION}/") for page in GENERATED)


@pytest.mark.parametrize("page", sorted(GENERATED))
def test_every_json_block_matches_its_schema(built_site, page):
    found = [b for b in BuiltSite(built_site).blocks(page) if b.lang == "json"]
    for block in found:
        name = block.attrs["data-schema"]
        assert not schemas.problems(name, json.loads(block.text)), (
            f"{block}: {name}"
        )
    fences = written_fences(page).values()
    assert len(found) == len([f for f in fences if f.lang == "json"])


# ----------------------------------------------------------- the API page
@pytest.mark.parametrize(
    "operation", catalog.OPERATIONS, ids=lambda o: o.operation_id
)
def test_each_call_is_described_as_the_model_says(built_site, operation):
    elements = section(soup_of(built_site, API), reference.anchor(operation))
    prose = " ".join(text(e) for e in elements if e.name == "p")
    assert f"{operation.method} {operation.path}" in prose
    status = f"{operation.success_status} "
    assert f"Answer: {status}" in prose
    if operation.rate_limited:
        assert f"{catalog.RATE_LIMIT_PER_MINUTE} requests a minute" in prose
    found = tables(elements)

    # Its own errors under it; those every call can get in one shared table,
    # linked from it. Together: every error the model gives the call.
    own = [c for c in operation.errors if c not in reference.SHARED_ERRORS]
    errors = [(r[0], r[1]) for r in table_rows(found[-1])] if own else []
    assert errors == sorted(
        [(str(catalog.error(c).status), c) for c in own],
        key=lambda row: int(row[0]),
    )
    links = [a["href"] for e in elements for a in e.find_all("a", href=True)]
    assert f"#{reference.SHARED_ERRORS_ANCHOR}" in links
    if operation.response_schema is not None:  # what it answers with
        name = reference.slug(operation.response_schema)
        assert f"../objects/#{name}" in links
    article = soup_of(built_site, API)
    (shared,) = tables(section(article, reference.SHARED_ERRORS_ANCHOR))
    assert sorted(
        errors + [(r[0], r[1]) for r in table_rows(shared)],
        key=lambda row: int(row[0]),
    ) == sorted(
        [(str(catalog.error(c).status), c) for c in operation.errors]
        + [(str(s), "none") for s in catalog.GATEWAY_STATUSES],
        key=lambda row: int(row[0]),
    )

    parameters = [t for t in found if text(t.find("th")) == "Parameter"]
    if operation.parameters:
        assert [r[0] for r in table_rows(parameters[0])] == [
            p.name for p in operation.parameters
        ]
    else:
        assert not parameters

    bodies = field_tables(elements)
    if operation.request_schema is None:
        assert not bodies
    else:
        schema = schemas.SCHEMAS[operation.request_schema]
        assert bodies == expected_tables(schema)


def test_the_objects_the_calls_answer_with_are_described(built_site):
    article = soup_of(built_site, OBJECTS)
    answered = {
        o.response_schema for o in catalog.OPERATIONS if o.response_schema
    }
    assert answered | {"error"} <= set(reference.OBJECTS)
    for name in reference.OBJECTS:
        elements = section(article, reference.slug(name))
        schema = schemas.SCHEMAS[name]
        if "properties" in schema:
            assert field_tables(elements) == expected_tables(schema), name
        else:  # a list: of the object its items are
            (item,) = [
                other
                for other in reference.OBJECTS
                if schemas.SCHEMAS[other] == schema["items"]
            ]
            links = [a["href"] for e in elements for a in e("a", href=True)]
            assert f"#{reference.slug(item)}" in links, name


def test_a_field_added_to_a_schema_appears_everywhere_at_once(monkeypatch):
    field = {
        "type": "integer",
        "x-expected": "an integer",
        "description": "How many times a delivery is tried.",
        "examples": [3],
    }
    # As a field added to the webhook's fields in snippets/schemas.py would.
    for schema in (
        schemas.WEBHOOK,
        schemas.CREATE_WEBHOOK_REQUEST,
        schemas.UPDATE_WEBHOOK_REQUEST,
    ):
        monkeypatch.setitem(schema["properties"], "attempts", field)

    pages = reference.generated_pages()
    row = "| `attempts` | integer | no | How many times a delivery is tried. | `3` |"
    assert pages[API].count(row) == 2  # create, update
    assert pages[OBJECTS].count(row) == 1  # the webhook object
    document = reference.openapi.document()
    assert (
        "attempts"
        in (
            document["components"]["schemas"]["create_webhook_request"][
                "properties"
            ]
        )
    )
    fake = FakeApi()
    created = fake.handle(
        "POST",
        settings.WEBHOOKS_PATH,
        {},
        {"API-Key": TEST_API_KEY, "Content-Type": "application/json"},
        json.dumps(
            {"url": "https://a.example", "event": "rate", "attempts": 3}
        ),
    )
    assert created.status == 200
    assert created.body["attempts"] == 3


# ------------------------------------------------------------ other pages
def test_the_events_page_is_the_catalog(built_site):
    [table] = soup_of(built_site, "reference/events.md").find_all("table")
    assert table_rows(table) == [
        [
            e.name
            + (f" (also called {e.also_called})" if e.also_called else ""),
            e.value,
            e.resource_type,
            e.trigger,
        ]
        for e in catalog.EVENTS
    ]


def test_the_status_codes_page_is_the_catalog(built_site):
    [table] = soup_of(built_site, "reference/status-codes.md").find_all(
        "table"
    )
    assert table_rows(table) == [
        [
            s.code,
            s.name,
            s.meaning,
            "yes" if s.final else "no",
            s.receiver_action,
        ]
        for s in catalog.TRACKING_STATUSES
    ]


def test_the_delivery_rules_page_is_the_catalog(built_site):
    article = soup_of(built_site, "reference/delivery-rules.md")
    rules, schedule = article.find_all("table")
    rule = {r.name: r for r in catalog.DELIVERY_RULES}
    attempts = rule["attempts"].value
    interval = rule["retry_interval"].value
    assert attempts is not None
    assert interval is not None
    first, last = catalog.DELIVERED_STATUSES[0], catalog.DELIVERED_STATUSES[-1]

    assert table_rows(rules) == [
        [
            "What counts as success",
            f"an answer with a 2xx status ({first} to {last})",
            catalog.DELIVERED_SOURCE,
        ],
        ["Attempts", f"up to {attempts} attempts", rule["attempts"].source],
        [
            "Time between attempts",
            f"about {interval} hours",
            rule["retry_interval"].source,
        ],
        [
            "When it gives up",
            f"about {rule['gives_up_after'].value} hours after the first"
            " attempt",
            rule["gives_up_after"].source,
        ],
        [
            "How long it waits for an answer",
            "not published",
            rule["answer_timeout"].source,
        ],
    ]
    assert [r[0] for r in table_rows(schedule)] == [
        str(n) for n in range(1, attempts + 1)
    ]
    assert table_rows(schedule)[-1][1] == (
        f"about {(attempts - 1) * interval} hours after the first"
    )
    assert rule["answer_timeout"].value is None  # else it is shown


def test_the_delivery_rules_page_follows_a_change_of_rule(monkeypatch):
    changed = tuple(
        catalog.DeliveryRule(r.name, 5, r.unit, r.source)
        if r.name == "attempts"
        else r
        for r in catalog.DELIVERY_RULES
    )
    monkeypatch.setattr(catalog, "DELIVERY_RULES", changed)

    page = reference.delivery_rules_page()

    assert "| Attempts | up to 5 attempts |" in page
    assert "| 5 | about 8 hours after the first |" in page


def test_the_error_codes_page_is_the_catalog(built_site):
    article = soup_of(built_site, "reference/errors.md")
    found = tables(list(article.children))
    assert field_tables(list(article.children)) == expected_tables(
        schemas.ERROR_BODY
    )
    assert table_rows(found[-1]) == [
        [
            str(e.status),
            f"{e.error_code} ({e.error_type})",
            e.meaning,
            e.what_to_do,
            "yes" if e.retried else "no",
        ]
        for e in catalog.ERRORS
    ]
    for error in catalog.ERRORS:  # the API page links each code here
        assert article.find(id=reference.slug(error.error_code)), error


@pytest.mark.parametrize("event", catalog.EVENTS, ids=lambda e: e.value)
def test_the_payloads_page_shows_each_delivery(built_site, event):
    article = soup_of(built_site, "reference/payloads.md")
    elements = section(article, reference.slug(event.value))
    schema = schemas.SCHEMAS[f"delivery_{event.value}"]
    assert field_tables(elements) == expected_tables(schema)
    [block] = [e for e in elements if e.get("data-schema")]
    assert block["data-schema"] == f"delivery_{event.value}"
    assert json.loads(block.get_text()) == payloads.sample_delivery(
        event.value
    )


def test_the_signing_page_names_the_headers_and_the_test_vector(built_site):
    article = soup_of(built_site, "reference/signing.md")
    headers = table_rows(article.find("table"))
    assert [(r[0], r[1]) for r in headers] == [
        (h.name, h.holds) for h in catalog.DELIVERY_HEADERS
    ]
    prose = text(article)
    assert catalog.SIGNED_TEXT in prose
    assert catalog.SIGNATURE_ALGORITHM in prose
    assert settings.API_BASE + settings.JWKS_PATH in prose
    assert VECTOR_SIGNATURE in prose
    name = reference.VECTOR_FILE.split("/")[-1]
    assert article.select(f"a[href$='/{name}']")
    published = (built_site / reference.VECTOR_FILE).read_text()
    assert json.loads(published) == VECTOR_JWKS


# --------------------------------------------------------------- downloads
DOWNLOADS = ("openapi.json", "llms.txt")


@pytest.mark.parametrize("page", ["index.md", "reference/index.md"])
def test_the_downloads_are_named_and_linked(built_site, page):
    article = soup_of(built_site, page)
    html = built_site / html_path(page)
    for name in DOWNLOADS:
        [link] = [
            a
            for a in article.find_all("a", href=True)
            if a["href"].endswith(name)
        ]
        assert name in text(link)
        assert (html.parent / link["href"]).resolve().is_file(), link["href"]


# An opening tag with an attribute that names a download: (tag, attribute).
NAMES_A_DOWNLOAD = re.compile(
    r"<(\w+)\b[^>]*?\b(src|href|data)=\"[^\"]*(?:openapi\.json|llms(?:-full)?\.txt)\""
)


def test_no_page_loads_the_downloads(built_site):
    """Their weight stays out of every page's first load: links only."""
    found = 0
    for html in built_site.rglob("*.html"):
        for tag, attribute in NAMES_A_DOWNLOAD.findall(html.read_text()):
            assert (tag, attribute) == ("a", "href"), html
            found += 1
    assert found >= 5  # the home page's links and the Reference's
