"""The one place where the platform's name, API base URL and header names are
set.

Pages read these values through the docs build hook; every block on the site
that talks to the API embeds the ``settings`` section below (after its own
imports, which bring ``os``), so a block copied from the site carries them.
"""

import os

# --8<-- [start:settings]
API_BASE = os.environ.get("YOURSTORE_API_BASE", "https://api.yourstore.com")
# The name of the variable that holds your key
API_KEY_ENV = "YOURSTORE_API_KEY"
TIMEOUT = (3.05, 15)  # seconds to connect, seconds to wait for the answer


# --8<-- [end:settings]

WEBHOOKS_PATH = "/v1/environment/webhooks"
TRACKING_PATH = "/v1/tracking"

# Blocks that check or make delivery signatures embed this section too.
# --8<-- [start:signatures]
PRODUCT_NAME = "YourStore"
PRODUCT_SLUG = PRODUCT_NAME.lower()
JWKS_PATH = "/jwks"  # where the platform publishes its public keys (a JWKS)
KEY_ID_HEADER = f"x-{PRODUCT_SLUG}-rsa-sha256-key-id"
SIGNATURE_HEADER = f"x-{PRODUCT_SLUG}-rsa-sha256-signature"
TIMESTAMP_HEADER = f"x-{PRODUCT_SLUG}-timestamp"
# --8<-- [end:signatures]
