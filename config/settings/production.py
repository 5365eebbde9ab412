"""Production: every secret from the environment, and a refusal to start without them."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BASE_DIR, DEBUG, SECRET_KEY, env

_INSECURE_DEFAULT = "insecure-local-only-secret-key-change-me"

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")
if SECRET_KEY == _INSECURE_DEFAULT or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("Set SECRET_KEY to a random value of at least 32 characters.")
for required in (
    "DATABASE_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "KASSA_CODE_HMAC_KEY",
    "EMAIL_URL",
):
    if not env.str(required, default=""):
        raise ImproperlyConfigured(f"{required} must be set in production.")

if env.str("KASSA_SMS_SENDER", default="config.messaging.FileSmsSender").endswith("FileSmsSender"):
    raise ImproperlyConfigured("Set KASSA_SMS_SENDER to your SMS provider's sender class.")

STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
WHITENOISE_USE_FINDERS = False
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_LIST_CREATED_FILTER = env.bool("STRIPE_LIST_CREATED_FILTER", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_CONTENT_TYPE_NOSNIFF = True
