"""Process tracking updates safely when they arrive twice, late or out of
order.

The platform promises at-least-once delivery and no order. A tracking update
carries its own clock, ``events[].occurred_at``: apply an update only when its
newest event is newer than what you already know, and put the change and its
side effect in one transaction, so that a repeat or a late straggler changes
nothing.

Run it: ``python delivery_semantics.py`` replays one package's updates in a
shuffled order, with a repeat, and shows which of them change anything.
"""

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


# --8<-- [start:order]
def occurred_at(event: dict[str, Any]) -> str:
    """The event's time in UTC, written so later times sort later as text."""
    moment = datetime.fromisoformat(event["occurred_at"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the platform sends UTC
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def newest_event_at(data: dict[str, Any]) -> str:
    """When the newest event of an update happened. The list is sent most
    recent first, but that order is not relied on. No events: the oldest."""
    return max((occurred_at(e) for e in data.get("events") or []), default="")


# --8<-- [end:order]


# --8<-- [start:apply]
SHIPMENTS = """
CREATE TABLE IF NOT EXISTS shipments (
    tracking_number TEXT PRIMARY KEY,
    status_code     TEXT NOT NULL,
    as_of           TEXT NOT NULL  -- occurred_at of the newest event applied
)
"""


def apply_update(db: sqlite3.Connection, data: dict[str, Any]) -> bool:
    """Record the status if the update is newer; False if it changed
    nothing."""
    cursor = db.execute(
        "INSERT INTO shipments (tracking_number, status_code, as_of)"
        " VALUES (?, ?, ?)"
        " ON CONFLICT (tracking_number) DO UPDATE"
        " SET status_code = excluded.status_code, as_of = excluded.as_of"
        " WHERE excluded.as_of > shipments.as_of",
        (data["tracking_number"], data["status_code"], newest_event_at(data)),
    )
    return cursor.rowcount == 1


# --8<-- [end:apply]


# --8<-- [start:handle]
Notify = Callable[[str, str], None]  # (tracking number, status code)


def handle_tracking_update(
    db: sqlite3.Connection, delivery: dict[str, Any], notify: Notify
) -> bool:
    """Apply a ``track`` delivery; tell the customer, once, if it is news."""
    data = delivery["data"]
    with db:  # one transaction: commit on success, roll back on any error
        if not apply_update(db, data):
            return False  # a repeat or a straggler: nothing to do or send
        notify(data["tracking_number"], data["status_code"])
    return True


# --8<-- [end:handle]


# --8<-- [start:main]
def track(status_code: str, *event_times: str) -> dict[str, Any]:
    """A tracking update, cut down to the fields this example reads."""
    data = {
        "tracking_number": "9405511899223197428490",
        "status_code": status_code,
        "events": [{"occurred_at": when} for when in event_times],
    }
    return {"resource_type": "API_TRACK", "data": data}


def notify(tracking_number: str, status_code: str) -> None:
    print(f"  tell the customer: {tracking_number} is now {status_code}")


def main() -> None:
    """Deliver one package's updates out of order, one of them twice."""
    accepted = track("AC", "2026-11-24T09:12:00Z")
    in_transit_times = ("2026-11-26T07:41:00Z", "2026-11-24T09:12:00Z")
    in_transit = track("IT", *in_transit_times)
    delivered = track("DE", "2026-11-26T14:03:00Z", *in_transit_times)
    db = sqlite3.connect(":memory:")
    db.execute(SHIPMENTS)
    for delivery in (in_transit, delivered, accepted, delivered):
        data = delivery["data"]
        print(f"{data['status_code']}, newest event {newest_event_at(data)}")
        if not handle_tracking_update(db, delivery, notify):
            print("  old news: ignored")
    print(db.execute("SELECT * FROM shipments").fetchall())


if __name__ == "__main__":
    main()
# --8<-- [end:main]
