"""The way through the site: the nav by task, a home page that lists every
page, and the addresses the site has published staying valid."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from bs4 import BeautifulSoup

from tests.support.browser import serve_site
from tests.support.site import (
    BuiltSite,
    html_path,
    nav_pages,
    pages,
    parse,
)

# Every page address published before the nav was ordered by task. Written
# out, not computed: a page that moves must keep answering at these.
PUBLISHED_ADDRESSES = (
    "/",
    "/webhooks-vs-apis/",
    "/events/",
    "/endpoint/",
    "/create-webhook/",
    "/status-codes/",
    "/client/",
    "/manage-webhooks/",
    "/move-endpoint/",
    "/errors/",
    "/testing/",
    "/payloads/",
    "/verify-signatures/",
    "/receive/",
    "/inbox/",
    "/delivery-semantics/",
    "/send-test-event/",
)
REFRESH = re.compile(r"\d+;\s*url=(?P<url>.+)", re.IGNORECASE)


def _land(url: str) -> tuple[str, BeautifulSoup]:
    """Follow ``url`` as a browser would, through HTTP redirects and the
    meta refresh a redirect page holds; the final address and its page."""
    for _ in range(5):
        answer = requests.get(url, timeout=5)
        assert answer.status_code == 200, f"{url}: {answer.status_code}"
        soup = parse(answer.text)
        refresh = soup.find("meta", attrs={"http-equiv": "refresh"})
        if refresh is None:
            return answer.url, soup
        url = urljoin(answer.url, REFRESH.match(refresh["content"])["url"])
    raise AssertionError(f"{url} redirects in a loop")


@pytest.mark.parametrize("address", PUBLISHED_ADDRESSES)
def test_a_published_address_lands_on_a_page(built_site: Path, address):
    with serve_site(built_site) as served:
        url, soup = _land(served.url(address))
    heading = soup.select_one("article h1")
    assert heading is not None, f"{address} landed on {url}, not a page"
    assert "404" not in soup.title.get_text(), f"{address}: not found"


def test_the_nav_is_ordered_by_task():
    order = nav_pages()
    assert order[:2] == ["index.md", "quickstart.md"]
    first = order.index
    # A reader builds an endpoint before managing webhooks, and checks
    # signatures before receiving for real.
    assert first("endpoint.md") < first("verify-signatures.md")
    assert first("verify-signatures.md") < first("receive.md")
    assert first("receive.md") < first("inbox.md")
    assert first("send-test-event.md") < first("create-webhook.md")


def test_every_page_is_in_the_nav():
    assert sorted(nav_pages()) == pages()


def test_the_home_page_links_every_page(site: BuiltSite):
    home = site.soup("index.md")
    linked = {
        a["href"].split("#")[0]
        for a in home.select("article a[href]")
        if "://" not in a["href"]
    }
    for page in nav_pages():
        if page == "index.md":
            continue
        address = html_path(page).removesuffix("index.html")
        assert address in linked, f"the home page does not link {page}"


def test_every_page_has_a_description_of_its_own(site: BuiltSite):
    seen: dict[str, str] = {}
    for page in pages():
        meta = site.soup(page).find("meta", attrs={"name": "description"})
        text = meta["content"].strip()
        assert text not in seen, f"{page} has {seen.get(text)}'s description"
        seen[text] = page
        assert "{{" not in text, page
        assert len(text) <= 160, page
