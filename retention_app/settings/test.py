"""Test settings: the base settings with fast hashing and Celery eager by default.

``DATABASE_URL`` still selects the database (CI runs the suite on PostgreSQL).  Tests that need
the real Redis broker and a worker switch eager mode off themselves.
"""

import os
import tempfile

os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="comeback-test-var-"))

from retention_app.settings.base import *  # noqa: E402,F403
from retention_app.settings.base import VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
SHOPIFY_API_KEY = "test-api-key"
SHOPIFY_API_SECRET = "test-api-secret-with-at-least-32-bytes"
SHOPIFY_API_SECRET_PREVIOUS = ""
SHOPIFY_BULK_POLL_SECONDS = 0.05
SHOPIFY_HTTP_TIMEOUT = 10
EMAIL_FILE_PATH = str(VAR_DIR / "outbox")
LOGGING = {"version": 1, "disable_existing_loggers": False}
WOOCOMMERCE_ALLOW_LOCAL_STORES = True  # the WooCommerce sandbox runs on 127.0.0.1
