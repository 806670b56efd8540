"""mkdocs-gen-files script: generate the reference tables from
``snippets.catalog``.

A page marks where a table goes with an HTML comment such as ``<!--
table:events -->``; this script replaces the marker with the table built from
the catalog. A marker with no table stops the build.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import mkdocs_gen_files

from snippets import catalog, payloads, settings

MARKER = re.compile(r"<!-- table:([a-z_]+)(?: status=([0-9,]+))? -->")
# Example payloads are written out in the page between these two markers, so
# the page's source shows every block it renders; the build rewrites them from
# snippets.payloads and tests/snippets/test_payloads.py fails when the written
# copy is out of date.
PAYLOADS = re.compile(
    r"(<!-- payloads -->\n).*?(\n<!-- /payloads -->)", re.DOTALL
)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def events_table() -> str:
    lines = [
        _row(
            "Event", "API value", "Sent when", "resource_type in the delivery"
        ),
        _row("---", "---", "---", "---"),
    ]
    for event in catalog.EVENTS:
        name = event.name
        if event.also_called:
            name += f" (also called *{event.also_called}*)"
        lines.append(
            _row(
                name,
                f"`{event.value}`",
                event.trigger,
                f"`{event.resource_type}`",
            )
        )
    return "\n".join(lines)


def status_codes_table() -> str:
    lines = [
        _row(
            "Code", "Status", "What it means", "What a receiver typically does"
        ),
        _row("---", "---", "---", "---"),
    ]
    for status in catalog.TRACKING_STATUSES:
        lines.append(
            _row(
                f"`{status.code}`",
                status.name,
                status.meaning,
                status.receiver_action,
            )
        )
    return "\n".join(lines)


def errors_table(statuses: str | None = None) -> str:
    wanted = {int(s) for s in statuses.split(",")} if statuses else None
    lines = [
        _row("Status", "error_code", "What it means", "What to do", "Retried"),
        _row("---", "---", "---", "---", "---"),
    ]
    for error in catalog.ERRORS:
        if wanted is not None and error.status not in wanted:
            continue
        lines.append(
            _row(
                str(error.status),
                f"`{error.error_code}`",
                error.meaning,
                error.what_to_do,
                "yes" if error.retried else "no",
            )
        )
    return "\n".join(lines)


def payload_examples() -> str:
    """An example delivery per event, from ``snippets.payloads``,
    schema-tagged."""
    sections = []
    for event in catalog.EVENTS:
        body = json.dumps(payloads.sample_delivery(event.value), indent=2)
        # As pages write it:
        body = body.replace(settings.API_BASE, "{{ api_base }}")
        anchor = "payload-" + event.value.replace("_", "-")
        schema = f"delivery_{event.value}"
        sections.append(
            f"### {event.name} {{ #{anchor} }}\n\n"
            f"`{event.value}`: {event.trigger}\n\n"
            f'``` {{ .json data-schema="{schema}" }}\n{body}\n```'
        )
    return "\n\n".join(sections)


TABLES: dict[str, Callable[..., str]] = {
    "events": events_table,
    "status_codes": status_codes_table,
    "errors": errors_table,
}


def fill(text: str, where: str) -> str:
    """``text`` with every table marker replaced by its table."""
    for name, statuses in MARKER.findall(text):
        if name not in TABLES or (statuses and name != "errors"):
            raise ValueError(
                f"{where}: no table {name!r} with status={statuses}"
            )

    def table(match: re.Match[str]) -> str:
        name, statuses = match.groups()
        return TABLES[name](statuses) if statuses else TABLES[name]()

    text = PAYLOADS.sub(lambda m: m[1] + payload_examples() + m[2], text)
    return MARKER.sub(table, text)


def generate() -> None:
    pages = [
        f.src_uri for f in mkdocs_gen_files.files if f.src_uri.endswith(".md")
    ]
    for src_uri in pages:
        with mkdocs_gen_files.open(src_uri, "r") as page:
            text = page.read()
        # Opening a page makes it "generated", which drops its edit link: point
        # the link back at the Markdown source.
        mkdocs_gen_files.set_edit_path(src_uri, src_uri)
        if MARKER.search(text) or PAYLOADS.search(text):
            with mkdocs_gen_files.open(src_uri, "w") as page:
                page.write(fill(text, src_uri))


generate()
