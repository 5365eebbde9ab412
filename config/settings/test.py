"""Settings for pytest: the harness points DATABASES at a throw-away embedded PostgreSQL
and STRIPE_API_BASE at a localstripe it starts (tests/conftest.py)."""

import os

# Without DATABASE_URL the harness starts a throw-away embedded PostgreSQL (tests/conftest.py).
KASSA_EMBEDDED_DATABASE = not os.environ.get("DATABASE_URL")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@localhost/kassa")

from .base import *  # noqa: E402, F403
from .base import CACHES  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["LOCATION"] = "kassa_cache"
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
KASSA_SMS_SENDER = "config.messaging.LocmemSmsSender"
