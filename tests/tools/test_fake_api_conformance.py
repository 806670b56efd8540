"""The fake API, served over HTTP on 127.0.0.1, against ``openapi.json``.

The document and the fake are built from one model (``snippets.catalog``), so
they can only disagree where the model does not hold together or the fake
does not do what the model says. Schemathesis finds out:

* its engine runs every phase (the document's examples, coverage of every
  field and parameter, fuzzing, and stateful sequences through the document's
  links: create, then get, update, delete) with positive and negative data
  and every check: each answer's status, schema, headers and content type,
  no 5xx, valid data accepted, invalid data refused, a created webhook
  readable, a deleted one gone, requests without the key refused, methods
  the API does not serve refused;
* the answers only the platform's state can cause (429, 5xx, the gateway's
  502 and 504) are then provoked once per operation and validated by the
  same checks;
* between them, every status the document gives an operation is seen.

A client generated from the document with openapi-python-client creates and
lists webhooks against the same fake.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import hypothesis
import pytest

from docs._hooks import openapi
from snippets import catalog, payloads
from snippets.verify_signatures import VECTOR_JWKS
from tests.support.fake_api import TEST_API_KEY, FakeApi, Shipment
from tests.support.servers import LiveServer

# Schemathesis is imported where it is used: importing it takes half a second,
# which every test worker would pay at collection for this one test. (Its
# pytest plugin is off in pyproject.toml for the same reason: the test drives
# its engine directly.)
if TYPE_CHECKING:
    from schemathesis.engine import events

PHASES = ("examples", "coverage", "fuzzing")
# What only the platform's state causes: the rate limit, its faults and the
# gateway's. Provoked after the engine's run, one request each.
PROVOKED = {429, 500, 503, *catalog.GATEWAY_STATUSES}
MAX_EXAMPLES = 10  # per operation and phase; enough to see every status
STATEFUL_EXAMPLES = 15  # sequences
STEPS = 8  # the longest sequence: create, get, update, delete, get, ...


@pytest.fixture
def fake() -> Iterator[tuple[FakeApi, str]]:
    """The fake on 127.0.0.1, with the site's sample shipment and keys."""
    api = FakeApi(api_key=TEST_API_KEY)
    api.jwks = VECTOR_JWKS
    track = payloads.TRACK_DATA
    tracking = catalog.operation("get_tracking_info").parameters
    api.add_shipment(
        Shipment(
            carrier_code=next(
                p.example for p in tracking if p.name == "carrier_code"
            ),
            tracking_number=track["tracking_number"],
            ship_date=track["ship_date"],
            estimated_delivery_date=track["estimated_delivery_date"],
            events=[{**e, "at": 0} for e in reversed(track["events"])],
        )
    )
    with LiveServer(api.wsgi_app) as server:
        yield api, server.url


def load(url: str, seed: int, *, sequences: bool = False) -> Any:
    """The document as Schemathesis tests it: the engine runs the
    examples, coverage and fuzzing phases; ``sequences`` are run through
    the state machine, which can start each on an empty account."""
    import schemathesis

    config = schemathesis.Config.from_dict(
        {
            "base-url": url,
            "seed": seed,
            "workers": 1,
            # A loaded machine is slow; speed is not what this test measures.
            "suppress-health-check": ["too_slow"],
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            # Sequences follow the document's own links only. (Inferred ones
            # also make Schemathesis take store_id for a reference to a
            # resource nothing creates, and then never start a sequence with
            # a create.)
            "phases": {
                "stateful": {
                    "enabled": sequences,
                    "inference": {"algorithms": []},
                    # Valid steps, so a sequence gets far; the phases above
                    # send the invalid data.
                    "generation": {"mode": "positive"},
                }
            },
            "cache": {"enabled": False},
            "auth": {
                "openapi": {openapi.SECURITY_SCHEME: {"api_key": TEST_API_KEY}}
            },
        }
    )
    return schemathesis.openapi.from_dict(openapi.document(), config=config)


def documented(document: dict[str, Any]) -> dict[str, set[int]]:
    return {
        operation["operationId"]: {int(s) for s in operation["responses"]}
        for methods in document["paths"].values()
        for operation in methods.values()
    }


def seen(api: FakeApi, calls: list) -> dict[str, set[int]]:
    found: dict[str, set[int]] = collections.defaultdict(set)
    for call in calls:
        operation = api.operation_for(call.method, call.path)
        if operation is not None:
            found[operation.operation_id].add(call.status)
    return found


def failure_report(event: events.ScenarioFinished) -> list[str]:
    from schemathesis.engine import Status

    lines = []
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE:
                continue
            sent = event.recorder.interactions.get(case_id)
            request = response = ""
            if sent is not None:
                request = f"{sent.request.method} {sent.request.uri} {sent.request.body!r:.200}"
                if sent.response is not None:
                    response = f"-> {sent.response.status_code} {sent.response.content[:200]!r}"
            failure = check.failure_info.failure if check.failure_info else ""
            lines.append(
                f"[{event.phase.value}] {check.name}: {failure}\n  {request} {response}"
            )
    return lines


def run_engine(api: FakeApi, url: str, seed: int) -> dict[str, list]:
    """Every phase of Schemathesis against the fake; the calls of each."""
    from schemathesis.engine import Status, StopReason, events
    from schemathesis.engine import from_schema as engine_for

    schema = load(url, seed)
    problems: list[str] = []
    calls: dict[str, list] = {}
    started = 0
    stop = None
    for event in engine_for(schema).execute():
        if isinstance(event, events.PhaseStarted):
            api.webhooks.clear()  # each phase starts with every event free
            started = len(api.calls)
        elif isinstance(event, events.PhaseFinished):
            calls.setdefault(event.phase.name.value, []).extend(
                api.calls[started:]
            )
            if (
                event.phase.name.value in PHASES
                and event.status == Status.SKIP
            ):
                problems.append(f"phase {event.phase.name.value} skipped")
        elif isinstance(event, events.ScenarioFinished):
            problems += failure_report(event)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(f"{type(event).__name__}: {event}")
        elif isinstance(event, events.EngineFinished):
            stop = event.stop_reason
    assert stop == StopReason.COMPLETED, (stop, problems)
    assert not problems, f"seed {seed}:\n" + "\n".join(problems)
    return calls


def run_sequences(api: FakeApi, url: str, seed: int) -> list:
    """Stateful sequences through the document's links; each starts on an
    empty account, so creates are not all refused as conflicts."""
    workflow = load(url, seed, sequences=True).as_state_machine()

    class Sequences(workflow):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            api.webhooks.clear()

    started = len(api.calls)
    Sequences.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    return api.calls[started:]


def provoke(
    api: FakeApi, schema: Any, operation: catalog.Operation, status: int
) -> None:
    """One request with the document's example data, answered ``status``
    because of the platform's state; Schemathesis validates the answer."""
    from schemathesis.checks import not_a_server_error

    case = schema[operation.path][operation.method].Case(
        path_parameters={
            p.name: p.example
            for p in operation.parameters
            if p.location == "path"
        },
        query={
            p.name: p.example
            for p in operation.parameters
            if p.location == "query"
        },
        **(
            {
                "body": openapi.object_example(operation.request_schema),
                "media_type": "application/json",
            }
            if operation.request_schema
            else {}
        ),
    )
    if status == 429:
        api.rate_limit = catalog.RATE_LIMIT_PER_MINUTE
        api.exhaust_rate_limit()
    else:
        api.fail_next(status, retry_after="1" if status == 503 else None)
    response = case.call_and_validate(
        headers={openapi.KEY_HEADER: TEST_API_KEY},
        excluded_checks=[not_a_server_error],  # provoked on purpose
    )
    assert response.status_code == status
    api.advance(60)  # a fresh rate-limit window


def test_the_fake_conforms_to_openapi_json(fake):
    api, url = fake
    api.rate_limit = 10**9  # lifted: 429s come later, one per operation
    seed = random.randrange(2**32)
    calls = run_engine(api, url, seed)
    sequences = run_sequences(api, url, seed)

    expected = documented(openapi.document())
    generated = seen(api, [c for p in PHASES for c in calls[p]] + sequences)
    for operation in catalog.OPERATIONS:
        natural = expected[operation.operation_id] - PROVOKED
        missing = natural - generated[operation.operation_id]
        assert not missing, (
            f"seed {seed}: {operation.operation_id} never answered"
            f" {sorted(missing)}"
        )
    assert followed_links(api, sequences), "no sequence used a link"

    before = len(api.calls)
    schema = load(url, seed)
    for operation in catalog.OPERATIONS:
        for status in sorted(expected[operation.operation_id] & PROVOKED):
            provoke(api, schema, operation, status)
    provoked = seen(api, api.calls[before:])
    everything = {o: generated[o] | provoked[o] for o in expected}
    assert everything == expected


def followed_links(api: FakeApi, calls: list) -> bool:
    """A webhook created in a sequence was then read, changed or deleted
    through its id, as the links lead."""
    created: set[str] = set()
    for call in calls:
        operation = api.operation_for(call.method, call.path)
        if operation is None or call.status >= 300:
            continue
        if operation.operation_id == "create_webhook":
            created.add(call.answer["webhook_id"])
        elif call.path.rsplit("/", 1)[-1] in created:
            return True
    return False
