"""Diagrams drawn at build time, for markers on pages.

A page says where a diagram goes with an HTML comment, such as
``<!-- diagram:retries -->``; the build hook (``build.py``) replaces it with
a ``<figure>``: the SVG that Graphviz (Debian's ``graphviz``, through the
``graphviz`` package) draws from the diagram's DOT source, and under it a
caption that says in words what the picture shows, its text alternative.
Nothing is drawn in the reader's browser and nothing is loaded from
anywhere: the SVG is part of the page.

Each diagram is made by a function here. Two are drawn from the same source
of truth as the pages' numbers and the code's states, so a change there
changes the picture:

- ``retries``: the attempts and the wait between them, from
  ``snippets.catalog.DELIVERY_RULES``;
- ``inbox-states``: the states a delivery passes through in the inbox, the
  values of the ``state`` column that ``snippets/inbox.py``'s SQL can write,
  and the waits its ``failed`` method sets (measured by running it).

A state the inbox's SQL can write that the diagram does not draw, or one it
draws that the SQL never writes, stops the build. The SVG is drawn in
``currentColor``, so it follows the page's palette.
"""

from __future__ import annotations

import ast
import html
import inspect
import re
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import graphviz

from snippets import catalog, inbox, settings, webhooks_vs_apis

MARKER = re.compile(r"^<!-- diagram:(?P<name>[a-z-]+) -->$", re.MULTILINE)

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "Helvetica,Arial,sans-serif"
INK = "black"  # drawn as the page's text colour (currentColor)
TINT = "#0000000f"  # a faint wash of the text colour, for groups
START, END = "start", "end"


@dataclass(frozen=True)
class Diagram:
    """A picture and the words that say what it shows."""

    name: str  # the marker's name
    title: str  # the picture's accessible name
    text: str  # the text alternative, shown as the figure's caption
    graph: graphviz.Digraph

    @property
    def dot(self) -> str:
        return self.graph.source


# ---------------------------------------------------------------------- style
def _graph(name: str) -> graphviz.Digraph:
    graph = graphviz.Digraph(name)
    graph.attr(
        bgcolor="transparent",
        fontname=FONT,
        fontsize="14",
        fontcolor=INK,
        nodesep="0.25",
        ranksep="0.4",
        pad="0.15",  # room for text a browser sets wider than Graphviz
    )
    graph.attr(
        "node",
        shape="box",
        style="rounded",
        fontname=FONT,
        fontsize="14",
        color=INK,
        fontcolor=INK,
        margin="0.12,0.05",
        height="0.35",
    )
    graph.attr(
        "edge",
        fontname=FONT,
        fontsize="13",
        color=INK,
        fontcolor=INK,
        arrowsize="0.7",
    )
    return graph


def _group(graph: graphviz.Digraph, label: str, **attrs: str) -> None:
    graph.attr(label=label, style="rounded", color=INK, **attrs)


def _dot(graph: graphviz.Digraph, name: str, *, end: bool = False) -> None:
    """The start (a dot) or the end (a ringed dot) of a state diagram."""
    size = "0.12" if end else "0.16"
    graph.node(
        name,
        "",
        shape="doublecircle" if end else "circle",
        style="filled",
        fillcolor=INK,
        width=size,
        height=size,
        fixedsize="true",
    )


def _hours(value: float) -> str:
    return f"{value:g} hour" if value == 1 else f"{value:g} hours"


def _wait(seconds: float) -> str:
    """``10 s``, ``5 min``, ``1 h``, as a diagram's labels write a wait."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _listing(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


# ----------------------------------------------------------- polling vs push
def polling_vs_push() -> Diagram:
    """One scan of a parcel, learnt by polling and by a webhook."""
    poll = inspect.signature(webhooks_vs_apis.poll_tracking)
    interval = _wait(poll.parameters["every"].default)
    path = settings.TRACKING_PATH
    graph = _graph("polling_vs_push")
    with graph.subgraph(name="cluster_pull") as pull:
        _group(pull, f"Polling: you ask every {interval}")
        for n in range(1, 4):
            pull.node(f"poll{n}", f"GET {path}\nno update")
        pull.node(
            "found",
            f"GET {path}\nnew scan, up to\n{interval} late",
            style="rounded,bold",
        )
        pull.edge("poll1", "poll2")
        pull.edge("poll2", "poll3", label=" …")
        pull.edge("poll3", "found")
    with graph.subgraph(name="cluster_push") as push:
        _group(push, "Webhook: you are told")
        push.node(
            "quiet", "no requests\nwhile nothing\nhappens", shape="plain"
        )
        push.node("scan", "the carrier\nscans the parcel", shape="plain")
        push.node(
            "pushed",
            "POST to your\nendpoint: new scan,\nseconds later",
            style="rounded,bold",
        )
        push.node("gap", "", style="invis")  # the scan comes later
        push.edge("quiet", "gap", style="invis")
        push.edge("gap", "scan", style="invis")
        push.edge("scan", "pushed")
    return Diagram(
        "polling-vs-push",
        "Polling against a webhook",
        f"Polling: your code calls GET {path} every {interval}, and most"
        " answers are \u201cno update\u201d; it learns of a scan at the next"
        f" call, up to {interval} after it happened. Webhook: your code makes"
        " no requests while nothing happens; when the carrier scans the"
        " parcel, the platform sends one POST to your endpoint, seconds"
        " later.",
        graph,
    )


# ----------------------------------------------------- the path of a delivery
def delivery_path() -> Diagram:
    """One delivery, from the platform to the handler that uses it."""
    product = settings.PRODUCT_NAME
    graph = _graph("delivery_path")
    graph.node(
        "send",
        f"{product} signs the\ndelivery and sends it",
        style="rounded,bold",
    )
    with graph.subgraph(name="cluster_receiver") as receiver:
        _group(
            receiver, "Your receiver, while the platform waits", labelloc="b"
        )
        receiver.node("verify", "1. verifies the signature")
        receiver.node("store", "2. stores the delivery")
        receiver.node(
            "answer", "3. answers 204: the\nplatform marks it delivered"
        )
        receiver.edge("verify", "store")
        receiver.edge("store", "answer")
    graph.node("inbox", "the inbox,\non disk", shape="cylinder")
    with graph.subgraph(name="cluster_worker") as worker:
        _group(worker, "Your worker, later")
        worker.node("claim", "4. takes the delivery")
        worker.node("handle", "5. the handler fetches\nthe resource")
        worker.edge("claim", "handle")
    graph.node("api", f"{product} API", style="rounded,bold")
    graph.edge("send", "verify", label=" POST to your endpoint")
    graph.edge("store", "inbox", style="dashed")
    graph.edge("inbox", "claim", style="dashed")
    graph.edge("handle", "api", label=" GET resource_url")
    return Diagram(
        "delivery-path",
        "The path of one delivery",
        f"{product} signs a delivery and sends it to your endpoint. While the"
        " platform waits, your receiver verifies the signature, stores the"
        " delivery in the inbox on disk and answers 204, and the platform"
        " marks the delivery delivered. Later, your worker takes the"
        " delivery from the inbox, and its handler fetches the resource the"
        f" delivery names from the {product} API.",
        graph,
    )


# ------------------------------------------------------------------- retries
def retry_schedule() -> tuple[int, float, float]:
    """Attempts, hours between them and hours until the platform gives up,
    from the delivery rules; ValueError when they disagree."""
    attempts = catalog.delivery_rule("attempts").value
    interval = catalog.delivery_rule("retry_interval").value
    gives_up = catalog.delivery_rule("gives_up_after").value
    if attempts is None or interval is None or gives_up is None:
        raise ValueError("the delivery rules publish no retry schedule")
    if attempts < 1 or gives_up != (attempts - 1) * interval:
        raise ValueError(
            f"gives_up_after ({gives_up} h) is not {attempts - 1} waits of"
            f" {interval} h, as the delivery rules say it follows"
        )
    return int(attempts), interval, gives_up


def retries() -> Diagram:
    """The platform's attempts over time, and what stops them."""
    attempts, interval, gives_up = retry_schedule()
    graph = _graph("retries")
    graph.node(
        "delivered", "Delivered:\nno more attempts", style="rounded,bold"
    )
    graph.node("dropped", "Dropped:\nnever sent again", style="rounded,bold")
    for n in range(1, attempts + 1):
        when = "the event" if n == 1 else _hours((n - 1) * interval)
        graph.node(f"attempt{n}", f"Attempt {n}\nat {when}")
        last = n == attempts
        graph.edge(
            f"attempt{n}",
            "delivered",
            label=" 2xx",
            constraint="true" if last else "false",
        )
        if last:
            graph.edge(f"attempt{n}", "dropped", label=" no 2xx in time")
        else:
            graph.edge(
                f"attempt{n}",
                f"attempt{n + 1}",
                label=f" no 2xx in time:\n wait {_hours(interval)}",
            )
    times = ["when the event happens"] + [
        _hours(n * interval) for n in range(1, attempts)
    ]
    later = " later" if attempts > 1 else ""
    return Diagram(
        "retries",
        "Delivery attempts over time",
        f"The platform makes up to {attempts} attempts to deliver an event,"
        f" {_hours(interval)} apart: {_listing(times)}{later}. A 2xx answer"
        " to any attempt marks the delivery delivered and stops the"
        " attempts; any other answer, or none in time, leads to the next"
        f" one. When the last attempt, about {_hours(gives_up)} after the"
        " first, gets no 2xx either, the platform drops the delivery and"
        " never sends it again.",
        graph,
    )


# -------------------------------------------------------------- inbox states
# The states drawn, each with the value of the inbox's ``state`` column it
# stands for: a claimed delivery and one waiting to be retried are both
# ``pending`` rows, told apart by when they are next due.
DRAWN_STATES = {
    "pending": "pending",
    "claimed": "pending",
    "retry": "pending",
    "done": "done",
    "parked": "parked",
}


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    method: str | None  # the Inbox method that makes it; None: time does
    label: str


# Read with a pattern rather than an SQL parser: it needs only the places the
# ``state`` column is set or compared, in a handful of statements, and a
# parser would be a dependency for that alone.
STATE_SQL = re.compile(
    r"\bstate\s+TEXT\b[^,]*?\bDEFAULT\s+'\w+'"  # the column's default
    r"|\bstate\s*(?:=|<>|!=)\s*(?:CASE\b.*?\bEND\b|'\w+')"  # set or compared
    r"|\bstate\s+IN\s*\([^)]*\)",
    re.DOTALL | re.IGNORECASE,
)


def sql_states(source: str | None = None) -> set[str]:
    """Every value of the ``state`` column that the SQL in ``source`` (by
    default ``snippets/inbox.py``) writes or compares with."""
    if source is None:
        source = Path(inspect.getfile(inbox)).read_text()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in STATE_SQL.finditer(node.value):
                found |= set(re.findall(r"'(\w+)'", match[0]))
    return found


def retry_waits() -> list[float]:
    """The seconds ``Inbox.failed`` makes a delivery wait after each failed
    attempt until it parks it, measured by running it on a scratch inbox
    with a clock that jumps to each due time."""
    now = [0.0]
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "inbox.sqlite3")
        box = inbox.Inbox(path, clock=lambda: now[0])
        reader = sqlite3.connect(path)
        try:
            box.store({"resource_url": "x", "resource_type": "API_BATCH"})
            waits: list[float] = []
            while (claimed := box.claim()) is not None:
                box.failed(claimed[0], RuntimeError("a failure"))
                if box.counts().get("parked"):
                    return waits
                ((due,),) = reader.execute(
                    "SELECT available_at FROM deliveries"
                ).fetchall()
                waits.append(due - now[0])
                now[0] = due
        finally:
            reader.close()
            box.close()
    raise ValueError("a failed delivery was neither retried nor parked")


def inbox_transitions(waits: list[float]) -> list[Transition]:
    """What moves a delivery between the states drawn; ``waits`` are those
    of :func:`retry_waits`.

    Written out rather than read from the SQL: which method moves a row from
    which state is what the code means, not what its text says (``done``
    acts on the delivery ``claim`` handed out). The build checks the states
    and methods named here against the code, and the tests check every arrow
    against a real inbox (``tests/site/test_diagrams.py``).
    """
    attempts = inbox.MAX_ATTEMPTS
    if len(waits) != attempts - 1:
        raise ValueError(f"{len(waits) + 1} attempts, not MAX_ATTEMPTS")
    shown = (
        _wait(waits[0])
        if len(set(waits)) == 1
        else f"{_wait(waits[0])} … {_wait(max(waits))}"
    )
    lease = _wait(inbox.LEASE)
    kept = f"{inbox.KEEP_DONE_DAYS:g} days"
    return [
        Transition(START, "pending", "store", "store()"),
        Transition("pending", "claimed", "claim", "claim()"),
        Transition("claimed", "done", "done", "done()"),
        Transition(
            "claimed", "retry", "failed", f"failed(),\nattempt < {attempts}"
        ),
        Transition("retry", "pending", None, f"waits\n{shown}"),
        Transition(
            "claimed", "parked", "failed", f"failed(),\nattempt {attempts}"
        ),
        Transition("claimed", "parked", "park", "park():\nno handler"),
        Transition("claimed", "pending", None, f"{lease} lease\nruns out"),
        Transition("parked", "pending", "requeue_parked", "requeue"),
        Transition("done", END, "prune", f"prune(),\n{kept} on"),
    ]


def check_inbox_states(transitions: list[Transition]) -> None:
    """ValueError unless the diagram and the inbox's code agree."""
    stored, drawn = sql_states(), set(DRAWN_STATES.values())
    if stored != drawn:
        raise ValueError(
            f"the inbox's SQL uses the states {sorted(stored)}; the diagram"
            f" draws {sorted(drawn)}"
        )
    for transition in transitions:
        if transition.method and not callable(
            getattr(inbox.Inbox, transition.method, None)
        ):
            raise ValueError(f"Inbox has no method {transition.method}")
        for state in (transition.source, transition.target):
            if state not in (*DRAWN_STATES, START, END):
                raise ValueError(f"a transition to an unknown state {state}")


def inbox_states() -> Diagram:
    """The states of a delivery in the inbox and what moves it."""
    waits = retry_waits()
    transitions = inbox_transitions(waits)
    check_inbox_states(transitions)
    graph = _graph("inbox_states")
    _dot(graph, START)
    _dot(graph, END, end=True)
    with graph.subgraph(name="cluster_pending") as group:
        _group(group, "state = 'pending'", labeljust="l")
        group.attr(style="rounded,filled", fillcolor=TINT)
        for state, column in DRAWN_STATES.items():
            if column == "pending":
                group.node(state, state)
    for state, column in DRAWN_STATES.items():
        if column != "pending":
            graph.node(state, state, style="rounded,bold")
    for t in transitions:
        graph.edge(
            t.source,
            t.target,
            label=f" {t.label}",
            style="dashed" if t.method is None else "solid",
        )
    return Diagram(
        "inbox-states",
        "The states of a delivery in the inbox",
        "A stored delivery is pending. A worker claims it; if the handler"
        " returns, the delivery is done, and it is pruned"
        f" {inbox.KEEP_DONE_DAYS:g} days later. If the handler fails, the"
        f" delivery waits, {_wait(waits[0])} at first and longer each time,"
        f" then is pending again; the {inbox.MAX_ATTEMPTS}th failure, or a"
        " type with no handler, parks it until you requeue it. A claim is a"
        " lease: if the worker dies, the delivery is pending again after"
        f" {_wait(inbox.LEASE)}. Pending, claimed and waiting to be retried"
        " are all the state pending in the table.",
        graph,
    )


# ------------------------------------------------------------------ rendering
DIAGRAMS: dict[str, Callable[[], Diagram]] = {
    "polling-vs-push": polling_vs_push,
    "delivery-path": delivery_path,
    "retries": retries,
    "inbox-states": inbox_states,
}


INHERITED = {"font-family": FONT, "font-size": "14.00"}
COORDINATES = {"d", "points", "x", "y", "cx", "cy", "rx", "ry", "transform"}
NUMBER = re.compile(r"-?\d+\.\d+")


def _rounded(match: re.Match[str]) -> str:
    """A coordinate to a tenth of a pixel: finer is invisible and costly."""
    return f"{round(float(match[0]), 1):g}"


def _tidy(element: ET.Element) -> None:
    """One element of the SVG without ids or classes, without the font the
    root sets, with coordinates rounded and black in the text colour."""
    for name in ("id", "class"):  # ids would repeat; no CSS uses classes
        element.attrib.pop(name, None)
    for name, value in INHERITED.items():  # set once, on the root
        if element.get(name) == value:
            del element.attrib[name]
    for name in COORDINATES & set(element.attrib):
        element.set(name, NUMBER.sub(_rounded, element.get(name, "")))
    for name in ("fill", "stroke"):
        if element.get(name) in ("black", "#000000"):
            element.set(name, "currentColor")
        elif element.get(name) == "transparent":
            element.set(name, "none")


# Hand-written rather than an SVG optimiser: these few changes are what a
# page needs, and an optimiser would be one more dependency for them.
def _inline(svg: str, title: str) -> str:
    """Graphviz's SVG made fit to sit in a page: no prolog, comments,
    tooltips or ids (two diagrams on a page would repeat them), black drawn
    in the page's text colour, sized in CSS pixels, named for assistive
    technology, and lighter: the font set once, coordinates rounded."""
    ET.register_namespace("", SVG_NS)
    root = ET.fromstring(svg)  # noqa: S314 (Graphviz's output, from our DOT)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == f"{{{SVG_NS}}}title":
                parent.remove(child)
    for element in root.iter():
        _tidy(element)
    root.attrib.update(
        width=root.get("width", "").removesuffix("pt"),
        height=root.get("height", "").removesuffix("pt"),
        role="img",
        focusable="false",
        fill="currentColor",  # text Graphviz leaves black has no fill
        **{"font-family": FONT, "font-size": "14"},
    )
    root.set("aria-label", title)
    text = ET.tostring(root, encoding="unicode")
    return "\n".join(line for line in text.splitlines() if line.strip())


@cache
def diagram(name: str) -> Diagram:
    """The diagram ``name``, made once per build."""
    if name not in DIAGRAMS:
        raise ValueError(f"no diagram {name!r}")
    return DIAGRAMS[name]()


@cache
def svg(name: str) -> str:
    """The diagram ``name`` as an SVG to inline in a page."""
    try:
        drawn = diagram(name).graph.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise RuntimeError(
            "drawing the diagrams needs Graphviz's dot"
            " (Debian: apt-get install graphviz)"
        ) from None
    return _inline(drawn, diagram(name).title)


def figure(name: str) -> str:
    """The HTML that stands for ``<!-- diagram:name -->``."""
    caption = html.escape(diagram(name).text, quote=False)
    return (
        f'<figure class="diagram" data-diagram="{name}">\n'
        f"{svg(name)}\n"
        f"<figcaption>{caption}</figcaption>\n"
        "</figure>"
    )


def expand(match: re.Match[str]) -> str:
    """What the marker ``match`` stands for (see MARKER)."""
    return figure(match["name"])
