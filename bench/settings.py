"""Settings for the benchmark: production-like (DEBUG off, Django's default password hashers,
no query log, quiet logging) without production's demand for real secrets, plus the R2
reference endpoint, which only these settings mount. `bench/run.py` sets DATABASE_URL and
STRIPE_API_BASE before anything imports them."""

from config.settings.base import *  # noqa: F403
from config.settings.base import INSTALLED_APPS, LOGGING

DEBUG = False
SECRET_KEY = "bench-only-secret-key-not-for-any-deployment-0123456789"  # noqa: S105
KASSA_CODE_HMAC_KEY = SECRET_KEY
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = [*INSTALLED_APPS, "bench.reference"]
ROOT_URLCONF = "bench.urls"
CELERY_TASK_ALWAYS_EAGER = True
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}
