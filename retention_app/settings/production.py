"""Production settings: the base settings behind TLS, with every secret from the environment.

Run the web server, Celery worker and beat with ``DJANGO_SETTINGS_MODULE=retention_app.settings.production``.
Refuses to start without the secrets that base.py can otherwise derive or default (the repository's
public development values must never sign or encrypt anything in production), and without a
PostgreSQL ``DATABASE_URL`` and a ``CELERY_BROKER_URL``.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from retention_app.keys import shopify_secrets_refuse_public
from retention_app.settings.base import *  # noqa: F403
from retention_app.settings.base import CONTENT_SECURITY_POLICY, DATABASES, DEBUG, env_bool, env_list

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (DEBUG=0)")

_REQUIRED = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "APP_URL",
             "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS")
_missing = [name for name in _REQUIRED if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(f"production settings need these environment variables: {', '.join(_missing)}")
shopify_secrets_refuse_public(secrets=[os.environ["SHOPIFY_API_SECRET"],
                                       os.environ.get("SHOPIFY_API_SECRET_PREVIOUS") or ""])
if "postgresql" not in DATABASES["default"]["ENGINE"]:
    raise ImproperlyConfigured("production runs on PostgreSQL: DATABASE_URL must be postgres://...")
# Rate limits (and OAuth state) live in the cache, which every web process must share.  Without
# REDIS_URL the broker's Redis serves; a Redis URL of its own (another database) is tidier.
if not os.environ.get("REDIS_URL"):
    if not os.environ["CELERY_BROKER_URL"].startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured("production needs a shared cache: set REDIS_URL (redis://...)")
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["CELERY_BROKER_URL"],
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
# The shopper's address on app-proxy requests is the one Shopify appends (see base.py).
SHOPIFY_APP_PROXY_FORWARDED_FOR = env_bool("SHOPIFY_APP_PROXY_FORWARDED_FOR", True)

# TLS ends at the load balancer, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS") or [os.environ["APP_URL"].rstrip("/")]
# Behind TLS: a stray http:// subresource is fetched over https instead of being blocked as mixed.
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**CONTENT_SECURITY_POLICY["DIRECTIVES"], "upgrade-insecure-requests": True}}
