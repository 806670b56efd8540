"""Tables and examples built from the source of truth, for markers on pages.

A page says where a table goes with an HTML comment, such as
``<!-- table:events -->`` or ``<!-- table:errors status=400,409 -->``, and
where the example delivery of every event goes with ``<!-- payloads -->``.
The build hook (``build.py``) replaces each marker with what these functions
make from ``snippets.catalog`` and ``snippets.payloads``; nothing generated is
written into a page's source. An unknown marker stops the build.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from snippets import catalog, payloads, settings

MARKER = re.compile(
    r"^<!-- (?P<name>table:[a-z_]+|payloads|payload:[a-z_]+)"
    r"(?: status=(?P<status>[0-9,]+))? -->$",
    re.MULTILINE,
)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def event_name(event: catalog.Event) -> str:
    """An event's name as the tables show it, with its other name if any."""
    also = f" (also called *{event.also_called}*)" if event.also_called else ""
    return event.name + also


def events_table() -> str:
    lines = [
        _row(
            "Event", "API value", "Sent when", "resource_type in the delivery"
        ),
        _row("---", "---", "---", "---"),
    ]
    for event in catalog.EVENTS:
        lines.append(
            _row(
                event_name(event),
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


def payload_example(event: str) -> str:
    """The example delivery of ``event``, fenced and schema-tagged."""
    body = json.dumps(payloads.sample_delivery(event), indent=2)
    # As pages write it:
    body = body.replace(settings.API_BASE, "{{ api_base }}")
    return f'``` {{ .json data-schema="delivery_{event}" }}\n{body}\n```'


def payload_examples() -> str:
    """An example delivery per event, from ``snippets.payloads``."""
    sections = []
    for event in catalog.EVENTS:
        anchor = "payload-" + event.value.replace("_", "-")
        sections.append(
            f"### {event.name} {{ #{anchor} }}\n\n"
            f"`{event.value}`: {event.trigger}\n\n"
            + payload_example(event.value)
        )
    return "\n\n".join(sections)


GENERATORS: dict[str, Callable[..., str]] = {
    "table:events": events_table,
    "table:status_codes": status_codes_table,
    "table:errors": errors_table,
    "payloads": payload_examples,
}


def expand(match: re.Match[str]) -> str:
    """What the marker ``match`` stands for (see MARKER)."""
    name, statuses = match["name"], match["status"]
    if name.startswith("payload:"):
        event = name.partition(":")[2]
        if event not in catalog.EVENT_VALUES:
            raise ValueError(f"no example delivery of {event!r}")
        return payload_example(event)
    if name not in GENERATORS or (statuses and name != "table:errors"):
        raise ValueError(f"no generated content {name!r} (status={statuses})")
    return GENERATORS[name](statuses) if statuses else GENERATORS[name]()
