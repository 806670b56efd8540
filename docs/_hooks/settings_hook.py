"""MkDocs hook: fill ``{{ name }}`` placeholders in pages from
``snippets.settings``.

The platform's name, API base URL and header names are set once, in
``snippets/settings.py``; pages write ``{{ api_base }}`` instead of repeating
them. An unknown placeholder stops the build.
"""

from __future__ import annotations

import re
from typing import Any

from snippets import catalog, inbox, inbox_postgres, send_test_event, settings
from snippets.receive_flask import MAX_BODY
from snippets.verify_signatures import MAX_SKEW

VALUES = {
    "product": settings.PRODUCT_NAME,
    "product_slug": settings.PRODUCT_SLUG,
    "api_base": settings.API_BASE,
    "api_host": settings.API_BASE.split("://", 1)[1],
    "api_key_env": settings.API_KEY_ENV,
    "webhooks_path": settings.WEBHOOKS_PATH,
    "tracking_path": settings.TRACKING_PATH,
    "jwks_path": settings.JWKS_PATH,
    "key_id_header": settings.KEY_ID_HEADER,
    "signature_header": settings.SIGNATURE_HEADER,
    "timestamp_header": settings.TIMESTAMP_HEADER,
}


def _rule(name: str) -> str:
    value = catalog.delivery_rule(name).value
    return "not published" if value is None else str(value)


def _sender_waits() -> str:
    waits = [
        f"{send_test_event.FIRST_WAIT * 2**n:g}"
        for n in range(send_test_event.ATTEMPTS - 1)
    ]
    return ", ".join(waits[:-1]) + " and " + waits[-1]


# Receivers, the inbox and the delivery rules (numbers quoted in prose).
VALUES |= {
    "max_body": f"{MAX_BODY // 1024**2} MiB",
    "max_skew_minutes": str(MAX_SKEW // 60),
    "max_nesting": str(inbox.MAX_NESTING),
    "max_request_line": str(settings.MAX_REQUEST_LINE),
    "max_header_lines": str(settings.MAX_HEADER_LINES),
    "max_header_line": str(settings.MAX_HEADER_LINE),
    "inbox_lease_minutes": f"{inbox.LEASE / 60:g}",
    "inbox_max_attempts": str(inbox.MAX_ATTEMPTS),
    "inbox_keep_days": f"{inbox.KEEP_DONE_DAYS:g}",
    "inbox_pool_size": str(inbox_postgres.POOL_SIZE),
    "inbox_wait": f"{inbox_postgres.WAIT:g} seconds",
    "delivery_answer_timeout": _rule("answer_timeout"),
    "delivery_attempts": _rule("attempts"),
    "delivery_retry_hours": _rule("retry_interval"),
    "delivery_gives_up_hours": _rule("gives_up_after"),
    "delivery_rules_source": catalog.delivery_rule("attempts").source,
    "sender_attempts": str(send_test_event.ATTEMPTS),
    "sender_waits": _sender_waits(),
}
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


class UnknownPlaceholderError(ValueError):
    pass


def substitute(markdown: str, where: str = "page") -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in VALUES:
            raise UnknownPlaceholderError(
                f"{where}: unknown placeholder {{{{ {name} }}}}"
            )
        return VALUES[name]

    return PLACEHOLDER.sub(value, markdown)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    return substitute(markdown, page.file.src_uri)


def _numbers() -> dict[str, str]:
    from docs._hooks.numbers import NUMBERS

    return NUMBERS


VALUES.update(_numbers())
