"""The glossary: each term, what it means, and the page that explains it.

The Glossary page lists these terms (``<!-- glossary -->``), and the build
links the first use of each term on every other page to its entry there,
once per page, so a reader meeting "lease" or "thin event" can look it up
without every later use turning into a link. The page a term points to
explains it in place, so the term is not linked there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, NavigableString, Tag

MARKER = re.compile(r"^<!-- glossary -->$", re.MULTILINE)
PAGE = "glossary.md"
SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)  # an inline diagram
HELD = "<!--svg-->"  # where one waits while the glossary links terms
# Text a reader does not read as prose: code, headings, links, labels.
SKIPPED = {
    "a", "code", "pre", "kbd", "h1", "h2", "h3", "h4", "h5", "h6",
    "script", "style", "svg", "button", "label", "th", "figcaption",
    "title", "summary",
}  # fmt: skip
SKIPPED_CLASSES = {"admonition-title", "md-annotation", "headerlink"}


@dataclass(frozen=True)
class Term:
    """One glossary entry."""

    name: str  # as the glossary lists it
    forms: str  # a regular expression for the words that use it
    meaning: str  # Markdown, one or two sentences
    page: str  # the page that explains it

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(rf"\b(?:{self.forms})\b", re.IGNORECASE)


TERMS: tuple[Term, ...] = (
    Term(
        "At least once",
        r"at least once|at-least-once",
        "The platform's promise: every delivery arrives, perhaps more than "
        "once. A delivery it did not see acknowledged is sent again.",
        "delivery-semantics.md",
    ),
    Term(
        "Acknowledge",
        r"acknowledge[sd]?|acknowledging",
        "Answer a delivery with a `2xx` status. Anything else, or no answer "
        "in time, tells the platform to send it again later.",
        "delivery-semantics.md",
    ),
    Term(
        "Delivery",
        r"deliver(?:y|ies)",
        "One HTTP `POST` the platform sends to your endpoint about one "
        "event, with a signed JSON body.",
        "payloads.md",
    ),
    Term(
        "Endpoint",
        r"endpoints?",
        "The public URL deliveries are sent to, and the server behind it "
        "that receives them.",
        "endpoint.md",
    ),
    Term(
        "Event",
        r"events?",
        "A kind of thing that happens on the platform, such as `track` for a "
        "carrier scan. Each webhook is for one event.",
        "events.md",
    ),
    Term(
        "Idempotent",
        r"idempotent|idempotency",
        "Safe to run twice: handling the same delivery again leaves things "
        "as they were after the first time.",
        "delivery-semantics.md",
    ),
    Term(
        "Inbox",
        r"inbox(?:es)?",
        "The durable store a receiver writes each delivery to before it "
        "answers, and a worker takes deliveries from.",
        "inbox.md",
    ),
    Term(
        "JWKS",
        r"JWKS|JSON Web Key Set",
        "JSON Web Key Set: the document that publishes the platform's public "
        "signing keys, each under its key id.",
        "verify-signatures.md",
    ),
    Term(
        "Key id",
        r"key ids?",
        "The name of the key a delivery was signed with, sent in a header, "
        "so you pick the right public key from the JWKS.",
        "verify-signatures.md",
    ),
    Term(
        "Lease",
        r"leases?",
        "A worker's time-limited claim on a delivery in the inbox. If the "
        "worker dies, the lease runs out and another worker takes it.",
        "inbox-worker.md",
    ),
    Term(
        "Parked",
        r"parked|parks?",
        "Set aside in the inbox: a delivery with no handler, or one that "
        "failed too often, waits there until you requeue it.",
        "inbox-worker.md",
    ),
    Term(
        "Receiver",
        r"receivers?",
        "The program behind your endpoint: it verifies a delivery, stores it "
        "in the inbox and answers.",
        "receive.md",
    ),
    Term(
        "Replay",
        r"replays?|replayed",
        "An old, validly signed delivery sent again by someone who copied "
        "it. The timestamp window makes a replay worthless.",
        "verify-signatures.md",
    ),
    Term(
        "Signature",
        r"signatures?",
        "Proof that the platform sent a delivery, unchanged: a signature "
        "over the timestamp and the exact body, checked with a public key.",
        "verify-signatures.md",
    ),
    Term(
        "Thin event",
        r"thin (?:events?|deliver(?:y|ies))",
        "A delivery that only says what changed and where to read it "
        "(`resource_url`); you fetch the resource from the API.",
        "payloads.md",
    ),
    Term(
        "Tracking update",
        r"tracking updates?",
        "A `track` delivery: it carries a package's full tracking "
        "information, so you need not call back.",
        "payloads.md",
    ),
    Term(
        "Tunnel",
        r"tunnels?",
        "A tool that gives a public HTTPS URL and forwards what it receives "
        "to a port on your machine.",
        "endpoint.md",
    ),
    Term(
        "Webhook",
        r"webhooks?",
        "A subscription: one event, and the URL its deliveries go to.",
        "create-webhook.md",
    ),
    Term(
        "Worker",
        r"workers?",
        "The process that takes deliveries from the inbox and runs your "
        "handlers on them, after the receiver has answered.",
        "inbox-worker.md",
    ),
)


def _ordered() -> list[Term]:
    # "thin event" before "event": the longer name claims its words first.
    return sorted(TERMS, key=lambda term: -len(term.forms))


def _in_prose(name: str) -> str:
    """A term's name inside a sentence: "thin event", but "JWKS"."""
    return name if name.split()[0].isupper() else name[0].lower() + name[1:]


def page_markdown() -> str:
    """The glossary as a definition list, each term with its anchor."""
    out = []
    for term in sorted(TERMS, key=lambda t: t.name.lower()):
        out += [
            f"{term.name} {{ #{term.anchor} }}",
            f":   {term.meaning} "
            f"[More on {_in_prose(term.name)}]({term.page})",
            "",
        ]
    return "\n".join(out).rstrip("\n")


def _eligible(text: NavigableString) -> bool:
    for parent in text.parents:
        if not isinstance(parent, Tag):
            continue
        if parent.name in SKIPPED:
            return False
        if SKIPPED_CLASSES & set(parent.get("class") or ()):
            return False
    return True


def link_first_uses(html: str, page: str) -> str:
    """``html`` (a page's content) with the first use of each term linked
    to the glossary, except on the glossary and the term's own page."""
    if page == PAGE:
        return html
    terms = [term for term in _ordered() if term.page != page]
    stem = page.removesuffix(".md")
    folder = "" if stem == "index" else stem.removesuffix("/index") + "/"
    url = "../" * folder.count("/") + PAGE.removesuffix(".md") + "/"
    # BeautifulSoup would lower-case SVG attributes (viewBox) as it writes
    # the page out again: inline drawings sit out the pass, as they are.
    drawings = iter(SVG.findall(html))
    soup = BeautifulSoup(SVG.sub(HELD, html), "html.parser")
    for text in list(soup.find_all(string=True)):
        if not terms or not isinstance(text, NavigableString):
            break
        if not text.strip() or not _eligible(text):
            continue
        _link_in(text, terms, soup, url)
    return re.sub(re.escape(HELD), lambda _: next(drawings), str(soup))


def _link_in(
    text: NavigableString, terms: list[Term], soup: BeautifulSoup, url: str
) -> None:
    """Link the earliest first use found in ``text``, then look again in
    what follows it."""
    found = [(m.start(), m, t) for t in terms if (m := t.pattern.search(text))]
    if not found:
        return
    _, match, term = min(found, key=lambda item: (item[0], -len(item[1][0])))
    terms.remove(term)
    link = soup.new_tag(
        "a", href=f"{url}#{term.anchor}", attrs={"class": "glossary-term"}
    )
    link.string = match[0]
    after = NavigableString(text[match.end() :])
    text.replace_with(NavigableString(text[: match.start()]), link, after)
    _link_in(after, terms, soup, url)
