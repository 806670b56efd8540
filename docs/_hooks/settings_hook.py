"""MkDocs hook: fill ``{{ name }}`` placeholders in pages from
``snippets.settings``.

The platform's name, API base URL and header names are set once, in
``snippets/settings.py``; pages write ``{{ api_base }}`` instead of repeating
them. An unknown placeholder stops the build.
"""

from __future__ import annotations

import re
from typing import Any

from snippets import settings

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
