"""Tables and facts in prose, read back out of the built site.

Every table of events, status codes or errors is generated from
``snippets/catalog.py`` (a ``<!-- table:... -->`` marker); these tests read
each generated table in the HTML and compare it with the catalog, refuse
hand-typed tables of catalog values, and check the values prose mentions in
inline code: event values, status codes, resource types, error codes, API
paths, header names, HTTP statuses and shell commands.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag

from snippets import catalog, schemas, settings
from tests.support import blocks
from tests.support.blocks import CurlError
from tests.support.checker import command_problems, fake_routes, is_api_url

PAGES = blocks.source_pages()
# Pages written in docs/: the Reference pages are generated whole, tables
# included, and tests/site/test_reference.py holds them to the catalog.
WRITTEN = [page for page in PAGES if page not in blocks.generated()]
MARKER = re.compile(r"<!-- table:([a-z_]+)(?: status=([0-9,]+))? -->")
HEADERS = {
    "events": [
        "Event",
        "API value",
        "Sent when",
        "resource_type in the delivery",
    ],
    "status_codes": [
        "Code",
        "Status",
        "What it means",
        "What a receiver typically does",
    ],
    "errors": [
        "Status",
        "error_code",
        "What it means",
        "What to do",
        "Retried",
    ],
}


def expected_rows(name: str, statuses: str | None = None) -> list[list[str]]:
    """The rows a table must have, straight from the catalog."""
    if name == "events":
        return [
            [
                e.name
                + (f" (also called {e.also_called})" if e.also_called else ""),
                e.value,
                e.trigger,
                e.resource_type,
            ]
            for e in catalog.EVENTS
        ]
    if name == "status_codes":
        return [
            [s.code, s.name, s.meaning, s.receiver_action]
            for s in catalog.TRACKING_STATUSES
        ]
    wanted = {int(s) for s in statuses.split(",")} if statuses else None
    return [
        [
            str(e.status),
            e.error_code,
            e.meaning,
            e.what_to_do,
            "yes" if e.retried else "no",
        ]
        for e in catalog.ERRORS
        if wanted is None or e.status in wanted
    ]


def soup_of(site: Path, page: str) -> BeautifulSoup:
    return BeautifulSoup(
        (site / blocks.html_path(page)).read_text(), "html.parser"
    )


def cells(row: Tag, tag: str) -> list[str]:
    return [" ".join(cell.get_text().split()) for cell in row.find_all(tag)]


def tables(soup: BeautifulSoup) -> list[tuple[list[str], list[list[str]]]]:
    return [
        (
            cells(table.select_one("thead tr"), "th")
            if table.select_one("thead")
            else [],
            [cells(tr, "td") for tr in table.select("tbody tr")],
        )
        for table in blocks.article(soup).find_all("table")
    ]


@pytest.mark.parametrize("page", WRITTEN)
def test_generated_tables_are_the_catalog(built_site, page):
    markers = MARKER.findall((blocks.DOCS / page).read_text())
    generated = [
        (header, rows)
        for header, rows in tables(soup_of(built_site, page))
        if header in HEADERS.values()
    ]
    assert len(generated) == len(markers), (
        f"{page}: a marker left no table, or "
    )
    for (name, statuses), (header, rows) in zip(
        markers, generated, strict=True
    ):
        assert header == HEADERS[name], page
        assert rows == expected_rows(name, statuses or None), f"{page}: {name}"


def catalog_values() -> set[str]:
    return (
        catalog.EVENT_VALUES
        | catalog.STATUS_CODES
        | catalog.ERROR_CODES
        | {e.resource_type for e in catalog.EVENTS}
    )


@pytest.mark.parametrize("page", WRITTEN)
def test_no_table_of_catalog_values_is_typed_by_hand(built_site, page):
    for header, rows in tables(soup_of(built_site, page)):
        if header in HEADERS.values():
            continue
        columns = zip(*rows, strict=False)
        for column in columns:
            typed = [cell for cell in column if cell in catalog_values()]
            assert len(typed) < 2, (
                f"{page}: hand-typed table of {typed}: use a marker"
            )


def test_the_tables_exist(built_site):
    names = [
        name
        for page in WRITTEN
        for name, _ in MARKER.findall((blocks.DOCS / page).read_text())
    ]
    assert {"events", "status_codes", "errors"} <= set(names)


# --------------------------------------------------------------- prose facts
def schema_names(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found |= set(value)
            found |= schema_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= schema_names(item)
    return found


# Words in inline code that are neither API values nor names from the code.
PROSE_WORDS = {"localhost", "https", "http", "json", "true", "false", "null"}
COMMANDS = (
    "python ",
    "python3 ",
    "flask ",
    "uvicorn ",
    "mkdocs ",
    "pytest ",
    "make ",
)
COMMANDS += ("pip ", "export ")
SPELLINGS = {413: {"Content Too Large"}, 422: {"Unprocessable Content"}}


def vocabulary() -> set[str]:
    return (
        set(blocks.code_vocabulary())
        | schema_names(schemas.SCHEMAS)
        | set(schemas.SCHEMAS)
        | catalog_values()
        | PROSE_WORDS
    )


def status_problem(text: str) -> str | None:
    """``409``, ``409 Conflict``: a real status and its phrase; ``409
    webhook_event_type_conflict``: the status the catalog gives that error
    code."""
    match = re.fullmatch(r"([1-5]\d\d)(?: (.+))?", text, re.DOTALL)
    if not match:
        return None
    try:
        status = HTTPStatus(int(match[1]))
    except ValueError:
        return f"`{text}` is not an HTTP status"
    rest = match[2] or ""
    code = re.match(r"[a-z]+(?:_[a-z]+)+\b", rest)
    if code:
        if code[0] not in catalog.ERROR_CODES:
            return f"`{text}`: {code[0]} is not an error code"
        if catalog.error(code[0]).status != status:
            return f"`{text}`: {code[0]} is a {catalog.error(code[0]).status}"
        return None
    phrase = re.fullmatch(r"(?:[A-Z][A-Za-z-]*)(?: [A-Z][A-Za-z-]*)*", rest)
    if phrase and rest not in {status.phrase, *SPELLINGS.get(status, ())}:
        return f"`{text}`: {status.value} is {status.phrase}"
    return None


def fact_problem(text: str) -> str | None:
    """What is wrong with a fact mentioned in inline code, if anything."""
    text = text.strip()
    headers = {
        settings.KEY_ID_HEADER,
        settings.SIGNATURE_HEADER,
        settings.TIMESTAMP_HEADER,
    }
    if re.fullmatch(r"[A-Z]{2}", text):
        return (
            None
            if text in catalog.STATUS_CODES
            else f"`{text}`: no such status"
        )
    if re.fullmatch(r"API_[A-Z_]+", text):
        types = {e.resource_type for e in catalog.EVENTS}
        return None if text in types else f"`{text}`: no such resource_type"
    request = re.fullmatch(r"(GET|POST|PUT|DELETE|PATCH) (\S+)", text)
    if request or text.startswith(("/v1/", settings.API_BASE)):
        method, target = request.groups() if request else (None, text)
        if target.startswith("/") and not target.startswith("/v"):
            return None  # a path on the reader's own server, such as /webhooks
        if target.startswith("http") and not is_api_url(target):
            return None
        path = target.removeprefix(settings.API_BASE).split("?")[0]
        path = re.sub(r"\{[^}]+\}|<[^>]+>", "some-id", path)
        methods = [method] if method else ["GET", "POST", "PUT", "DELETE"]
        if not any(fake_routes(m, path) for m in methods):
            return f"`{text}`: the API has no such endpoint"
        return None
    if re.fullmatch(r"x-[a-z0-9-]+", text, re.IGNORECASE):
        return None if text.lower() in headers else f"`{text}`: no such header"
    if text.startswith("curl "):
        try:
            curl = blocks.parse_curl(
                blocks.commands(text)[0].words, {settings.API_KEY_ENV: "key"}
            )
        except (CurlError, ValueError) as error:
            return f"`{text}`: {error}"
        if is_api_url(curl.url) and not fake_routes(curl.method, curl.path):
            return f"`{text}`: the API has no {curl.method} {curl.path}"
        return None
    if text.startswith(COMMANDS):
        problems = command_problems(blocks.commands(text)[0])
        return f"`{text}`: {'; '.join(problems)}" if problems else None
    status = status_problem(text)
    if status or re.fullmatch(r"[1-5]\d\d(?: .+)?", text, re.DOTALL):
        return status
    if re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", text):
        return (
            None
            if text in vocabulary()
            else f"`{text}`: not a name the API uses"
        )
    return None


@pytest.mark.parametrize("page", PAGES)
def test_facts_in_prose_are_real(built_site, page):
    soup = soup_of(built_site, page)
    problems = sorted(
        {p for t in blocks.inline_code(soup) if (p := fact_problem(t))}
    )
    assert not problems, f"{page}:\n" + "\n".join(problems)


def test_links_to_the_api_name_real_endpoints(built_site):
    for page in PAGES:
        for link in blocks.article(soup_of(built_site, page)).find_all(
            "a", href=True
        ):
            if is_api_url(link["href"]):
                assert not fact_problem(link["href"]), (
                    f"{page}: {link['href']}"
                )


@pytest.mark.parametrize(
    "text",
    [
        "trak",
        "DX",
        "API_TRACKING",
        "GET /v1/environment/webhook",
        "/v1/trackings",
        "x-yourstore-signature",
        "409 Gone",
        "499",
        "401 not_found",
        "400 invalid_value",
        "python -m snippets.nope",
        "webhook_event_conflict",
        f"curl -X POST {settings.API_BASE}/v1/webhooks",
        f"curl --insecure {settings.API_BASE}/v1/tracking",
    ],
)
def test_a_wrong_fact_in_prose_is_caught(text):
    assert fact_problem(text)


@pytest.mark.parametrize(
    "text",
    [
        "track",
        "DE",
        "API_TRACK",
        f"GET {settings.WEBHOOKS_PATH}",
        f"{settings.WEBHOOKS_PATH}/{{webhook_id}}",
        settings.SIGNATURE_HEADER,
        "409 Conflict",
        "413 Content Too Large",
        "401 unauthorized",
        "503 service_unavailable: try again (request_id 1, 6 attempt(s))",
        "webhook_event_type_conflict",
        "resource_url",
        "/webhooks",
    ],
)
def test_a_real_fact_in_prose_passes(text):
    assert fact_problem(text) is None
