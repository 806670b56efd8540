"""A minimal webhook endpoint: accept a JSON POST, acknowledge at once, work
later.

Run it: ``flask --app snippets.endpoint run --port 8080`` (or
``python -m snippets.endpoint``), then send it a delivery on ``POST
/webhooks``.
"""

# --8<-- [start:imports]
import json
import queue
from typing import Any

from flask import Flask, request

# --8<-- [end:imports]


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
    except ValueError:
        return "the body is not valid JSON", 400
    if not isinstance(delivery, dict) or "resource_type" not in delivery:
        return "the body is not a webhook delivery", 400
    inbox.put(delivery)
    return "", 204


# --8<-- [end:receiver]

# --8<-- [start:usage]
if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8080)
# --8<-- [end:usage]
