"""Fenced code blocks in the site's Markdown, and the line each one came from.

The build (``build.py``) gives every fence a ``data-src-line`` attribute before
the Markdown is converted, so each code block of the built HTML says where it
was written: ``"42"`` for the fence on line 42 of the page, ``"40+3"`` for the
third block the marker on line 40 generated. The tests read the same Markdown
through the same functions, so a block in the HTML and the fence it came from
meet by that identity, never by their order on the page.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

OPENING = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# ```python title="x.py" hl_lines="2"   or   ``` { .json data-schema="x" }
BRACED = re.compile(r"^\s*\{(?P<inner>.*)\}\s*$")
ATTRIBUTE = re.compile(r'(?P<key>[\w-]+)="(?P<value>[^"]*)"')
LINE_ATTRIBUTE = "data-src-line"


@dataclass
class Fence:
    """One fenced code block: where it is and what it says."""

    line: int  # 1-based line of the opening fence
    indent: str  # the fence's indentation (content tabs indent it)
    marker: str  # the backticks or tildes that open it
    info: str  # everything after the marker
    body: str  # the content, dedented
    end: int  # 1-based line of the closing fence
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        """The language: ```` ```python ```` or ``{ .python }`` say python."""
        braced = BRACED.match(self.info)
        text = braced["inner"] if braced else self.info
        match = re.match(r"\s*\.?([A-Za-z0-9_+-]+)", text)
        return match.group(1) if match else ""

    @property
    def source_line(self) -> str:
        """The block's identity: its own line, or the one the build gave it."""
        return self.attrs.get(LINE_ATTRIBUTE, str(self.line))


def _closes(line: str, marker: str) -> bool:
    closing = OPENING.match(line)
    return bool(
        closing
        and closing["fence"][0] == marker[0]
        and len(closing["fence"]) >= len(marker)
        and not closing["info"].strip()
    )


def fences(markdown: str) -> list[Fence]:
    """The fenced code blocks of ``markdown``, in order.

    A fence inside another (a Markdown example showing a fence) is part of
    the outer one's body, as Python-Markdown's SuperFences reads it.
    """
    found: list[Fence] = []
    lines = markdown.splitlines()
    number = 0
    while number < len(lines):
        opening = OPENING.match(lines[number])
        if not opening:
            number += 1
            continue
        end = number + 1
        while end < len(lines) and not _closes(lines[end], opening["fence"]):
            end += 1
        info = opening["info"].strip()
        found.append(
            Fence(
                line=number + 1,
                indent=opening["indent"],
                marker=opening["fence"],
                info=info,
                body=textwrap.dedent("\n".join(lines[number + 1 : end])),
                end=end + 1,
                attrs=dict(ATTRIBUTE.findall(info)),
            )
        )
        number = end + 1
    return found


def with_attribute(fence: Fence, key: str, value: str) -> str:
    """The fence's opening line with ``key="value"`` added to its attributes.

    ```` ```python title="a.py" ```` becomes
    ```` ``` { .python title="a.py" key="value" } ````: SuperFences reads
    titles, highlighted lines and data attributes in the braced form too.
    """
    braced = BRACED.match(fence.info)
    if braced:
        inner = braced["inner"].strip()
    else:
        lang, _, rest = fence.info.partition(" ")
        inner = f".{lang} {rest}".strip() if lang else rest.strip()
    return f'{fence.indent}{fence.marker} {{ {inner} {key}="{value}" }}'


def number_fences(markdown: str, suffix: str = "") -> str:
    """``markdown`` with each fence's opening line given ``data-src-line``.

    The value is the fence's line, or ``suffix`` followed by its position
    when the Markdown was generated from a marker (``"40+3"``).
    """
    lines = markdown.splitlines()
    for position, fence in enumerate(fences(markdown), start=1):
        value = f"{suffix}+{position}" if suffix else str(fence.line)
        lines[fence.line - 1] = with_attribute(fence, LINE_ATTRIBUTE, value)
    return "\n".join(lines) + ("\n" if markdown.endswith("\n") else "")
