"""Settings, all from the environment (12-factor).

With nothing set the app runs on the embedded default: SQLite under ``var/`` and Celery in eager
mode, which is what ``make demo`` uses.  Production and CI set ``DATABASE_URL`` (PostgreSQL) and
``CELERY_BROKER_URL`` (Redis); a Celery worker and Celery beat then run as separate processes.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from retention_app.keys import derived_encryption_key, development_secrets, keys_refuse_public

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
# Keys come from the environment; in development (DEBUG on) the missing ones are generated once
# into var/secrets.json and reused (retention_app/keys.py).  The repository's old public
# development key is refused everywhere.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = development_secrets(var_dir=VAR_DIR).secret_key

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "anymail",
    "axes",
    "django_htmx",
    "commerce",
    "billing",
    "integrations",
    # The platforms: each is one app under integrations/ that registers itself (integrations.platforms).
    "integrations.shopify",
    "integrations.woocommerce",
    "loyalty",
    "campaigns",
    "analytics",
    "surveys",
    "segments",
    "dashboard",
    "retention_app",  # the whole-house commands (manage.py demo)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "retention_app.csp.CSPMiddleware",  # Content-Security-Policy on every response (static files too)
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files under gunicorn too (no web server needed)
    "retention_app.middleware.NulCharacterMiddleware",  # %00 in the address: a 400, not a database error
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx: the settings pages' live previews and counts
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the lockout page
]

ROOT_URLCONF = "retention_app.urls"
WSGI_APPLICATION = "retention_app.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # {% load locale_format %}: one date convention per language, digits, bidi isolation.
            "libraries": {"locale_format": "retention_app.locale_tags"},
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'comeback.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server, sync and webhook processing share one SQLite file: wait for locks
    # instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # A Redis that hangs must not hang requests: the rate limits fail open on an error.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-axes first: it refuses a locked-out username + IP before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("he", "עברית"), ("fa", "فارسی")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Webhook bodies are read whole (the HMAC covers the raw bytes); large orders exceed 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves the apps' static files straight from their folders in every mode (runserver,
# gunicorn, tests), so no collectstatic step is needed; `collectstatic` into STATIC_ROOT still works.
WHITENOISE_USE_FINDERS = True

# The dashboard's own login (WooCommerce / standalone stores and the demo); the admin keeps its own.
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:index"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "celery.app.trace": {"level": os.environ.get("TASK_LOG_LEVEL", "WARNING")},
        "axes": {"level": "WARNING"},  # lockouts and failed logins, not its start-up banner
    },
}

# How merchant (admin) and shopper (storefront widget) API requests are verified.  Each platform
# registers its own authenticators (integrations.platforms); these dispatch to them.  The merchant
# API also takes a Django login with a shop membership (WooCommerce, the demo, scripts in a
# browser session): the UI and scripts use one API.
MERCHANT_API_AUTHENTICATION = [
    "integrations.authentication.PlatformMerchantAuthentication",
    "dashboard.api_auth.MemberSessionAuthentication",
]
SHOPPER_API_AUTHENTICATION = ["integrations.authentication.PlatformShopperAuthentication"]

REST_FRAMEWORK: dict[str, object] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
# Eager mode still builds a producer pool: give it the in-memory transport, not a default host.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
# Publishing happens on the webhook ack path: fail fast when the broker is away (the inbox sweep
# re-enqueues what could not be published) instead of blocking the request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 2}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "shopify-reconcile": {
        "task": "integrations.tasks.reconcile_all_shops",
        "schedule": timedelta(minutes=int(os.environ.get("RECONCILE_EVERY_MINUTES", "30"))),
    },
    "webhook-inbox-drain": {  # the safety net under the web processes' wake-ups
        "task": "integrations.tasks.drain_inbox",
        "schedule": timedelta(seconds=float(os.environ.get("INBOX_DRAIN_EVERY_SECONDS", "5"))),
    },
    "webhook-inbox-retry": {
        "task": "integrations.tasks.retry_due_deliveries",
        "schedule": timedelta(minutes=1),
    },
    "webhook-inbox-prune": {
        "task": "integrations.tasks.prune_processed_deliveries",
        "schedule": timedelta(hours=6),
    },
    "history-sync-resume": {
        "task": "integrations.tasks.resume_stalled_history_syncs",
        "schedule": timedelta(minutes=5),
    },
    "analytics-rollups-refresh": {  # the dashboard's aggregates: at most a minute or two behind the orders
        "task": "analytics.tasks.rollups_refresh_all",
        "schedule": timedelta(seconds=float(os.environ.get("ROLLUPS_REFRESH_EVERY_SECONDS", "60"))),
    },
    "loyalty-tier-review": {
        "task": "loyalty.tasks.tiers_review_all",
        "schedule": timedelta(hours=24),
    },
    "loyalty-points-expiry": {
        "task": "loyalty.tasks.points_expire_all",
        "schedule": timedelta(hours=24),
    },
    "loyalty-birthdays": {
        "task": "loyalty.tasks.birthdays_award_all",
        "schedule": timedelta(hours=1),  # hourly: each shop's midnight comes at its own hour
    },
    "campaigns-due-steps": {
        "task": "campaigns.tasks.run_due_steps",
        "schedule": timedelta(minutes=1),
    },
    "campaigns-daily-scans": {
        "task": "campaigns.tasks.daily_scans",
        "schedule": timedelta(hours=24),
    },
    "integrations-consent-write-back": {  # consent changes whose write-back was lost or gave up
        "task": "integrations.tasks.consent_write_back_due",
        "schedule": timedelta(minutes=15),
    },
    "commerce-outbox-dispatch": {
        "task": "commerce.tasks.dispatch_pending_events",
        "schedule": timedelta(minutes=1),
    },
    "segments-daily-recompute": {
        "task": "segments.tasks.recompute_all_shops",
        "schedule": timedelta(hours=24),
    },
    "commerce-event-deliveries-prune": {
        "task": "commerce.tasks.prune_resolved_event_deliveries",
        "schedule": timedelta(hours=6),
    },
}

# --- The outbox (commerce/events.py) ---------------------------------------------------------
# A subscriber that raises is retried (alone) after EVENT_RETRY_BASE_SECONDS, doubled per attempt
# up to EVENT_RETRY_MAX_SECONDS, and dead-lettered after EVENT_MAX_ATTEMPTS attempts in all:
# with the defaults 1, 2, 4 ... 64 minutes apart, dead about two hours after the first failure.
EVENT_MAX_ATTEMPTS = int(os.environ.get("EVENT_MAX_ATTEMPTS", "8"))
EVENT_RETRY_BASE_SECONDS = int(os.environ.get("EVENT_RETRY_BASE_SECONDS", "60"))
EVENT_RETRY_MAX_SECONDS = int(os.environ.get("EVENT_RETRY_MAX_SECONDS", str(6 * 3600)))
# Fairness: one dispatch round takes at most this many pending events of each shop.
EVENT_DISPATCH_PER_SHOP = int(os.environ.get("EVENT_DISPATCH_PER_SHOP", "100"))

# --- Email (django-anymail; with no provider, files under var/outbox/) -----------------------
# Tracking webhooks under /anymail/ are served only when authenticated (integrations/email_webhooks):
# ANYMAIL_WEBHOOK_SECRET is "user:password" for HTTP basic auth (comma-separate two to rotate);
# providers that sign take their own key, e.g. MAILGUN_WEBHOOK_SIGNING_KEY.
ANYMAIL: dict[str, str | list[str]] = {}
if env_list("ANYMAIL_WEBHOOK_SECRET"):
    ANYMAIL["WEBHOOK_SECRET"] = env_list("ANYMAIL_WEBHOOK_SECRET")
for _anymail_key in ("MAILGUN_WEBHOOK_SIGNING_KEY", "MANDRILL_WEBHOOK_KEY", "POSTAL_WEBHOOK_KEY",
                     "MAILERSEND_SIGNING_SECRET", "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY",
                     "RESEND_SIGNING_SECRET", "MAILTRAP_TRACKING_SECRET"):
    if os.environ.get(_anymail_key):
        ANYMAIL[_anymail_key] = os.environ[_anymail_key]
if os.environ.get("EMAIL_BACKEND"):
    EMAIL_BACKEND = os.environ["EMAIL_BACKEND"]
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "outbox")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Comeback <no-reply@localhost>")

# --- SMS (a provider adapter; "sandbox" writes under var/sms/) -----------------------------
SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "sandbox")
SMS_SENDER = os.environ.get("SMS_SENDER", "+15550000000")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")

# --- Secrets at rest ------------------------------------------------------------------------
# Comma-separated Fernet keys, newest first; older keys still decrypt (key rotation).  Without
# them: derived from an environment SECRET_KEY, or in development the generated one under var/.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS") or [
    derived_encryption_key(SECRET_KEY) if os.environ.get("SECRET_KEY")
    else development_secrets(var_dir=VAR_DIR).encryption_key
]
keys_refuse_public(secret_key=SECRET_KEY, encryption_keys=FIELD_ENCRYPTION_KEYS)

# --- Security headers -----------------------------------------------------------------------
# One Content-Security-Policy (django-csp) for every response: scripts and styles from this origin
# only, plus a per-response nonce for the few inline <style> blocks; no inline event handlers or
# style attributes anywhere.  Nothing may frame a page, except that embedded dashboard pages allow
# their own shop's admin (the platform's EmbeddedAdmin.frame_headers, e.g. Shopify's in
# integrations/shopify/admin_session.py, which also allows App Bridge's CDN).
CONTENT_SECURITY_POLICY: dict[str, dict[str, object]] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if os.environ.get("CSP_REPORT_URI"):  # where browsers report what the policy blocked (an error tracker's endpoint)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [os.environ["CSP_REPORT_URI"]]
X_FRAME_OPTIONS = "DENY"  # for browsers without frame-ancestors; embedded pages send none
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # unsubscribe and survey links carry tokens: never sent to others
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Billing (billing/plans.py) ---------------------------------------------------------------
# Free: every feature, limited by volume per calendar month (shop's time zone).  200 orders earning
# points is a store doing up to ~6-7 orders a day, past which $29 is small against its revenue;
# 500 flow emails covers that store's welcome, points and win-back messages.  The paid plan has no limits.
BILLING_FREE_ORDERS_PER_MONTH = int(os.environ.get("BILLING_FREE_ORDERS_PER_MONTH", "200"))
BILLING_FREE_EMAILS_PER_MONTH = int(os.environ.get("BILLING_FREE_EMAILS_PER_MONTH", "500"))
BILLING_PLAN_NAME = os.environ.get("BILLING_PLAN_NAME", "Comeback")
BILLING_PLAN_PRICE = os.environ.get("BILLING_PLAN_PRICE", "29.00")
BILLING_CURRENCY = os.environ.get("BILLING_CURRENCY", "USD")
BILLING_TRIAL_DAYS = int(os.environ.get("BILLING_TRIAL_DAYS", "14"))
# Test charges (nobody is billed): always in development; production bills for real only with
# SHOPIFY_BILLING_TEST=0.  A test subscription unlocks the paid plan only while this is on.
BILLING_TEST = True if DEBUG else env_bool("SHOPIFY_BILLING_TEST", True)

# --- Shopify --------------------------------------------------------------------------------
APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:8000").rstrip("/")
SHOPIFY_API_KEY = os.environ.get("SHOPIFY_API_KEY", "comeback-dev-key")
SHOPIFY_API_SECRET = os.environ.get("SHOPIFY_API_SECRET", "comeback-dev-secret")
SHOPIFY_API_SECRET_PREVIOUS = os.environ.get("SHOPIFY_API_SECRET_PREVIOUS", "")
# The scopes OAuth asks for; shopify.app.toml's [access_scopes] must list the same (a test checks).
# write_app_proxy: Shopify requires it for the app proxy (/apps/comeback) the widget talks through.
SHOPIFY_SCOPES = env_list(
    "SHOPIFY_SCOPES",
    "read_customers,write_customers,read_orders,read_all_orders,read_products,read_discounts,write_discounts,"
    "write_app_proxy",
)
# Development only: the origin of the local Shopify sandbox.  When set, shop
# ``<name>.myshopify.com`` is reached at ``{SHOPIFY_SANDBOX_URL}/shops/<name>.myshopify.com``
# instead of ``https://<name>.myshopify.com``.  Shop domains are validated the same way in both.
SHOPIFY_SANDBOX_URL = os.environ.get("SHOPIFY_SANDBOX_URL", "").rstrip("/")
SHOPIFY_HTTP_TIMEOUT = float(os.environ.get("SHOPIFY_HTTP_TIMEOUT", "20"))
SHOPIFY_OAUTH_MAX_AGE_SECONDS = 90
# App-proxy requests (signed by Shopify with a timestamp) are refused when the timestamp is further
# than this from now, either way: a captured signed URL cannot be replayed later.
SHOPIFY_PROXY_MAX_AGE_SECONDS = int(os.environ.get("SHOPIFY_PROXY_MAX_AGE_SECONDS", "300"))
# Clock skew allowed on session tokens' exp/nbf/iat (App Bridge often sends a slightly future nbf).
SHOPIFY_SESSION_TOKEN_LEEWAY_SECONDS = 10
# Expiring offline tokens are refreshed this long before they run out (Shopify: they live an hour).
SHOPIFY_TOKEN_REFRESH_MARGIN_SECONDS = float(os.environ.get("SHOPIFY_TOKEN_REFRESH_MARGIN_SECONDS", "300"))
SHOPIFY_BULK_POLL_SECONDS = float(os.environ.get("SHOPIFY_BULK_POLL_SECONDS", "1"))
SHOPIFY_BULK_TIMEOUT_SECONDS = float(os.environ.get("SHOPIFY_BULK_TIMEOUT_SECONDS", "3600"))
# --- WooCommerce ----------------------------------------------------------------------------
# Stores on this machine (http://127.0.0.1:..., the sandbox, a local WordPress) may be connected:
# on in development, off in production, where a store must be https on a public address (no SSRF).
WOOCOMMERCE_ALLOW_LOCAL_STORES = env_bool("WOOCOMMERCE_ALLOW_LOCAL_STORES", DEBUG)
# Seconds to wait for a store's REST API (background work; calls a shopper waits on wait at most 5).
WOOCOMMERCE_HTTP_TIMEOUT = float(os.environ.get("WOOCOMMERCE_HTTP_TIMEOUT", "20"))
# Requests the WordPress plugin signs for the storefront widget (``/proxy/*``) are refused when
# their timestamp is further than this from now; the plugin's admin link lives 60 seconds.
STOREFRONT_PROXY_MAX_AGE_SECONDS = int(os.environ.get("STOREFRONT_PROXY_MAX_AGE_SECONDS", "300"))
WOOCOMMERCE_ADMIN_LINK_MAX_AGE_SECONDS = 60
SYNC_BATCH_SIZE = int(os.environ.get("SYNC_BATCH_SIZE", "500"))
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))
# Processed (and ignored) inbox rows are deleted this many days after they arrived: their raw
# bodies hold shoppers' personal data.  Failed and dead ones are kept for operators.
INBOX_RETENTION_DAYS = int(os.environ.get("INBOX_RETENTION_DAYS", "30"))
# The inbox's drainers (integrations.tasks.drain_inbox): deliveries per batch (one transaction),
# and how long one drain task runs before it hands over to a fresh one.
INBOX_DRAIN_BATCH = int(os.environ.get("INBOX_DRAIN_BATCH", "200"))
INBOX_DRAIN_SECONDS = float(os.environ.get("INBOX_DRAIN_SECONDS", "25"))
# A failed delivery's first retry (a refund that overtook its order); later ones back off from 60 s.
INBOX_FIRST_RETRY_SECONDS = float(os.environ.get("INBOX_FIRST_RETRY_SECONDS", "5"))
# Each web process publishes at most one drain_inbox wake-up per interval (integrations/inbox_waker.py);
# a wake-up still queued after INBOX_WAKE_EXPIRES_SECONDS is dropped (other drains ran meanwhile).
INBOX_WAKE_INTERVAL_SECONDS = float(os.environ.get("INBOX_WAKE_INTERVAL_SECONDS", "0.05"))
INBOX_WAKE_EXPIRES_SECONDS = float(os.environ.get("INBOX_WAKE_EXPIRES_SECONDS", "60"))
# A hard bounce stops marketing email at once; soft bounces only after this many within this many days.
EMAIL_SOFT_BOUNCE_LIMIT = int(os.environ.get("EMAIL_SOFT_BOUNCE_LIMIT", "3"))
EMAIL_SOFT_BOUNCE_DAYS = int(os.environ.get("EMAIL_SOFT_BOUNCE_DAYS", "30"))

# --- Abuse limits -----------------------------------------------------------------------------
# Proxies we run in front of the app (load balancer, CDN), as comma-separated CIDRs: only the
# X-Forwarded-For entries they append are believed (retention_app/client_ip.py).  Empty: the
# header is ignored and REMOTE_ADDR is the client.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
# Shopify's app proxy connects from Shopify's servers and appends the shopper's address to
# X-Forwarded-For; on, a request whose proxy signature checks out believes that one entry too
# (otherwise every shopper seems to come from Shopify).  On by default in production.
SHOPIFY_APP_PROXY_FORWARDED_FOR = env_bool("SHOPIFY_APP_PROXY_FORWARDED_FOR", False)
# The shopper (widget) endpoints, per shop and client IP / per shop and logged-in shopper
# ("N/second|minute|hour|day"; retention_app/throttles.py).  Over the limit: 429 with Retry-After.
# Each can be set from the environment, e.g. RATE_LIMIT_REDEEM_IP=60/minute.
SHOPPER_RATE_LIMITS: dict[str, dict[str, str]] = {
    "redeem": {"customer": "10/minute", "ip": "30/minute"},
    "referral_claim": {"customer": "5/minute", "ip": "10/minute"},
    "referral_lookup": {"ip": "60/minute"},  # referral offers and friend codes: no guessing codes
    "survey_answer": {"customer": "10/minute", "ip": "20/minute"},
    "social": {"customer": "10/minute", "ip": "30/minute"},
}
for _scope, _limits in SHOPPER_RATE_LIMITS.items():
    for _dimension in ("customer", "ip"):
        if os.environ.get(f"RATE_LIMIT_{_scope}_{_dimension}".upper()):
            _limits[_dimension] = os.environ[f"RATE_LIMIT_{_scope}_{_dimension}".upper()]
# Login lockout (django-axes) on the dashboard's login and the admin's: after LOGIN_FAILURE_LIMIT
# wrong passwords for one username from one IP, that pair is refused (429, even with the right
# password) for LOGIN_COOLOFF_MINUTES; each new try meanwhile restarts the wait.  Operators see
# and clear lockouts in the admin (Axes: access attempts) or with `manage.py axes_reset`.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "retention_app.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "dashboard.views.login_locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (until the cool-off ends); successful logins are not
