"""Facts in prose, read back out of the built site: every event value,
status code, resource type, API path, header name, HTTP status, error code,
command and code name a page writes in inline code is a real one
(``tests/support/facts.py``)."""

from __future__ import annotations

import pytest

from docs._hooks import programs
from snippets import settings
from tests.support import checks, facts
from tests.support.shell import Context
from tests.support.site import article, pages


def _context(site, doc) -> Context:
    """A command named in prose may be any program of the site (the prose
    links to its page); a block's commands may only use its page's."""
    page = checks.Page(site, doc)
    every = {p.name: site.download(p.name) for p in programs.PROGRAMS}
    return Context(doc, every, page.variables())


@pytest.mark.parametrize("doc", pages())
def test_facts_in_prose_are_real(site, doc):
    context = _context(site, doc)
    problems = sorted(
        {
            p
            for text in site.inline_code(doc)
            if (p := facts.fact_problem(text, context))
        }
    )
    assert not problems, f"{doc}:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", pages())
def test_links_to_the_api_name_real_endpoints(site, doc):
    context = _context(site, doc)
    for link in article(site.soup(doc)).find_all("a", href=True):
        if facts.is_api_url(link["href"]):
            assert not facts.fact_problem(link["href"], context), link["href"]


WRONG = [
    "trak", "DX", "API_TRACKING", "GET /v1/environment/webhook",
    "/v1/trackings", "x-yourstore-signature", "409 Gone", "499",
    "401 not_found", "400 invalid_value", "python no_such_download.py",
    "webhook_event_conflict", f"curl -X POST {settings.API_BASE}/v1/webhooks",
    f"curl --insecure {settings.API_BASE}/v1/tracking",
    "flask --app create_webhook run --no-such-option",
    "export NOT_A_VARIABLE_OF_OURS=1",
]  # fmt: skip
RIGHT = [
    "track", "DE", "API_TRACK", f"GET {settings.WEBHOOKS_PATH}",
    f"{settings.WEBHOOKS_PATH}/{{webhook_id}}", settings.SIGNATURE_HEADER,
    "409 Conflict", "413 Content Too Large", "401 unauthorized",
    "503 service_unavailable: try again (request_id 1, 6 attempt(s))",
    "webhook_event_type_conflict", "resource_url", "/webhooks",
    "python create_webhook.py batch", f"curl -sSX GET {settings.API_BASE}/jwks",
]  # fmt: skip


def _create_webhook_page(site) -> Context:
    return _context(site, "create-webhook.md")


@pytest.mark.parametrize("text", WRONG)
def test_a_wrong_fact_in_prose_is_caught(site, text):
    assert facts.fact_problem(text, _create_webhook_page(site))


@pytest.mark.parametrize("text", RIGHT)
def test_a_real_fact_in_prose_passes(site, text):
    assert facts.fact_problem(text, _create_webhook_page(site)) is None
