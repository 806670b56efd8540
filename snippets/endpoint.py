"""A minimal webhook endpoint: accept a JSON POST, acknowledge at once, work
later. A sketch of the shape only: it checks no signature and keeps what it
receives in memory. The Verify signatures and Receive deliveries pages build
the real receiver.

Run it: ``python endpoint.py`` serves it on http://127.0.0.1:5000/webhooks.
"""

import json
import queue
from typing import Any

from flask import Flask, request


# --8<-- [start:receiver]
app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # larger bodies get 413 at once
inbox: queue.Queue[dict[str, Any]] = queue.Queue()  # a worker drains this


@app.post("/webhooks")
def receive() -> tuple[str, int]:
    """Check the body is a delivery, queue it, answer 204 before work."""
    if request.mimetype != "application/json":
        return "expected Content-Type: application/json", 415
    try:
        delivery = json.loads(request.get_data())
    except (ValueError, RecursionError):  # RecursionError: absurd nesting
        return "the body is not valid JSON", 400
    if not isinstance(delivery, dict) or "resource_type" not in delivery:
        return "the body is not a webhook delivery", 400
    inbox.put(delivery)
    return "", 204


# --8<-- [end:receiver]

# --8<-- [start:main]
if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
# --8<-- [end:main]
