"""Site-wide checks on the built HTML: generated tables, pasteable Python, no CDN."""

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from snippets import catalog


def _page(site: Path, name: str) -> BeautifulSoup:
    return BeautifulSoup((site / name / "index.html").read_text(), "html.parser")


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def _table_rows(soup: BeautifulSoup, first_header: str) -> list[list[str]]:
    for table in soup.select("article table"):
        headers = [th.get_text(strip=True) for th in table.select("thead th")]
        if headers and headers[0] == first_header:
            return [
                [" ".join(td.get_text().split()) for td in tr.select("td")]
                for tr in table.select("tbody tr")
            ]
    raise AssertionError(f"no table starting with {first_header!r}")


def _code_blocks(soup: BeautifulSoup, language: str) -> list[str]:
    return [
        div.select_one("code").get_text()
        for div in soup.select(f"div.language-{language}.highlight")
    ]


def test_the_events_table_is_the_catalogue(built_site):
    rows = _table_rows(_page(built_site, "events"), "Event")

    assert [(r[1], r[3]) for r in rows] == [
        (e.value, e.resource_type) for e in catalog.EVENTS
    ]
    assert [r[2] for r in rows] == [e.trigger for e in catalog.EVENTS]
    renamed = next(r for r in rows if r[1] == "order_source_refresh_complete")
    assert (
        renamed[0]
        == "Order source refresh complete (also called Store refresh completed)"
    )


def test_the_status_code_table_is_the_catalogue(built_site):
    rows = _table_rows(_page(built_site, "status-codes"), "Code")

    assert rows == [
        [s.code, s.name, s.meaning, s.receiver_action]
        for s in catalog.TRACKING_STATUSES
    ]


def test_the_create_page_lists_the_create_errors_from_the_catalogue(built_site):
    rows = _table_rows(_page(built_site, "create-webhook"), "Status")

    assert [(int(r[0]), r[1]) for r in rows] == [
        (e.status, e.error_code) for e in catalog.ERRORS if e.status in (400, 401, 409)
    ]


def test_no_placeholder_survives_the_build(built_site):
    for page in _pages(built_site):
        assert "{{" not in page.read_text(), page


def test_every_page_describes_itself(built_site):
    for page in _pages(built_site):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        description = soup.find("meta", attrs={"name": "description"})
        assert description, page
        assert description["content"].strip(), page


LOADED = {"stylesheet", "preload", "modulepreload", "icon", "manifest"}


def test_no_page_loads_anything_from_another_host(built_site):
    for page in _pages(built_site):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        urls = [tag.get("src") for tag in soup.find_all(["script", "img", "iframe"])]
        urls += [
            link.get("href")
            for link in soup.find_all("link")
            if LOADED & set(link.get("rel", []))
        ]
        for url in filter(None, urls):
            assert not urlsplit(url).netloc, f"{page} loads {url}"


def test_the_404_page_leads_back_into_the_guide(built_site):
    soup = BeautifulSoup((built_site / "404.html").read_text(), "html.parser")
    links = [a.get_text(strip=True) for a in soup.select("article a")]

    assert "Create a webhook" in links
    assert "Introduction" in links


def _python_blocks(site: Path) -> list[tuple[str, int, str]]:
    blocks = []
    for page in _pages(site):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        for index, code in enumerate(_code_blocks(soup, "python")):
            blocks.append((str(page.relative_to(site)), index, code))
    return blocks


def test_python_blocks_exist(built_site):
    assert len(_python_blocks(built_site)) >= 6


def test_every_python_block_runs_when_pasted_alone(built_site, tmp_path):
    """A reader copies one block into an empty file: nothing may be undefined,
    unused or imported twice, and the module-level code must run."""
    for page, index, code in _python_blocks(built_site):
        target = tmp_path / f"block_{index}_{page.replace('/', '_')}.py"
        target.write_text(code)
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F",
             "--output-format", "concise", str(target)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert lint.returncode == 0, f"{page} block {index}:\n{lint.stdout}"
        namespace = {"__name__": "pasted_block"}
        exec(compile(code, str(target), "exec"), namespace)


@pytest.mark.parametrize("name", ["create-webhook", "status-codes"])
def test_json_blocks_parse(built_site, name):
    blocks = _code_blocks(_page(built_site, name), "json")

    assert blocks
    for block in blocks:
        json.loads(block)


def test_curl_examples_read_the_key_from_the_environment(built_site):
    for page in _pages(built_site):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        for code in _code_blocks(soup, "bash"):
            for line in code.splitlines():
                if "API-Key:" in line:
                    assert re.search(r"API-Key: \$YOURSTORE_API_KEY\b", line), line
