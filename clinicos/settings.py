"""ClinicOS settings, read from the environment (12-factor) through django-environ.

Everything a deployment changes is an environment variable; the defaults give a
working development setup on an embedded SQLite database.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (written by `make` for development) fills in what the environment lacks.
# CLINICOS_ENV_FILE points elsewhere, or to nothing ("") as the test suite does.
ENV_FILE = os.environ.get("CLINICOS_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY",
    # Only development may run on the built-in key; production must set its own.
    default="django-insecure-development-key-only-for-local-use" if DEBUG else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "guardian",
    "simple_history",
    "django_htmx",
    "ninja",
    "django_tasks_db",
    "clinicos",
    "patients",
    "leads",
    "scheduling",
    "clinical",
    "billing",
    "reporting",
    "portal",
]

# Background work (critical-result escalation, reports) on Django's tasks framework, stored
# in the database and run by `manage.py db_worker` (started by `make run`).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A task still running this long after it started is taken for dead (its worker was killed)
# and its work is given to a worker again (clinicos.worker). Reports take seconds.
TASK_LEASE_SECONDS = env.int("TASK_LEASE_SECONDS", default=30 * 60)

MIDDLEWARE = [
    "clinicos.scoping.ClinicScopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "clinicos.middleware.NulInQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "clinicos.middleware.SessionTouchMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "clinicos.middleware.PrivateCachingMiddleware",
    "clinicos.middleware.OutOfRangeIdMiddleware",
]

ROOT_URLCONF = "clinicos.urls"
WSGI_APPLICATION = "clinicos.wsgi.application"

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
                "django.template.context_processors.csp",
                "clinicos.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at the
    # start of every transaction, so two concurrent writers queue instead of deadlocking.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by all server processes (login rate limits live here); fails soft -----
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "clinicos.cache.FailSoftRedisCache", "LOCATION": REDIS_URL}}
else:
    # Its table is created by migration clinicos 0004: `migrate` is the whole deploy step.
    CACHES = {"default": {"BACKEND": "clinicos.cache.FailSoftDatabaseCache", "LOCATION": "clinicos_cache"}}

# --- Users, passwords, login ------------------------------------------------------------
AUTH_USER_MODEL = "clinicos.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# healthcare-management-system spec: at least 8 characters with upper case, lower case,
# a digit and a special character.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "clinicos.passwords.ComplexityValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "clinic_picker"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "clinicos.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"  # staff accounts are created by administrators
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
# Lockout: 5 failed logins per account per 5 minutes, 100 per minute per IP address.
ACCOUNT_RATE_LIMITS = {
    # Per account strict; per address generous, so that one locked-out typist cannot lock
    # out everyone behind a clinic's shared IP address.
    "login_failed": "100/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/5m/key",
    "reset_password_from_key": "20/m/ip",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "ClinicOS"
MFA_RECOVERY_CODE_COUNT = 10

# Automatic logout after a period of inactivity: the session cookie slides forward on
# every request and expires when none came within the window.
SESSION_IDLE_TIMEOUT_MINUTES = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
# The session is saved at most once a minute while in use (clinicos.middleware.SessionTouchMiddleware):
# the idle timeout still slides, without a write on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

API_TOKEN_LIFETIME = timedelta(hours=env.int("API_TOKEN_LIFETIME_HOURS", default=12))

# --- Email (Django 6.1 mailers): console in development, SMTP from the environment ------
EMAIL_BACKEND_PATH = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
_mailer_options = {}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    _mailer_options = {
        "host": env.str("EMAIL_HOST", default="localhost"),
        "port": env.int("EMAIL_PORT", default=25),
        "username": env.str("EMAIL_HOST_USER", default=""),
        "password": env.str("EMAIL_HOST_PASSWORD", default=""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=False),
        "timeout": 20,
    }
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _mailer_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ClinicOS <no-reply@clinicos.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Messages to patients (clinicos/messaging): one provider per channel -------------------
# "clinicos.messaging.providers.ConsoleProvider" prints (development), "…TwilioProvider" sends
# SMS and WhatsApp through Twilio's REST API, "…EmailProvider" through the mailer above.
MESSAGING_PROVIDERS = {
    "sms": env.str("MESSAGING_SMS_PROVIDER", default="clinicos.messaging.providers.ConsoleProvider"),
    "whatsapp": env.str("MESSAGING_WHATSAPP_PROVIDER", default="clinicos.messaging.providers.ConsoleProvider"),
    "email": env.str("MESSAGING_EMAIL_PROVIDER", default="clinicos.messaging.providers.EmailProvider"),
}
MESSAGING_FILE_PATH = env.str("MESSAGING_FILE_PATH", default=str(BASE_DIR / "messages.jsonl"))
MESSAGING_MESSAGE_ID_DOMAIN = env.str("MESSAGING_MESSAGE_ID_DOMAIN", default="clinicos.local")
# Where patients' links (reminders, claims, opt-outs) and Twilio's delivery reports point:
# this installation's public address, e.g. https://clinics.example.com.
MESSAGING_PUBLIC_URL = env.str("MESSAGING_PUBLIC_URL", default="http://localhost:8000")
# The tests send what is due in-line, to read the provider's outbox at once.
MESSAGES_SEND_INLINE = env.bool("MESSAGES_SEND_INLINE", default=False)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_WHATSAPP_FROM = env.str("TWILIO_WHATSAPP_FROM", default="")
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com")

# India's ABDM: "name@sbx" ABHA addresses are accepted only on an installation that says it
# runs against ABDM's sandbox.
ABDM_SANDBOX = env.bool("ABDM_SANDBOX", default=False)

# --- Patient portal: one-time codes by email or SMS, through the outbox -------------------
# A phone typed without its country code is read in this country.
PORTAL_DEFAULT_REGION = env.str("PORTAL_DEFAULT_REGION", default="IN")
PORTAL_TOKEN_LIFETIME = timedelta(hours=env.int("PORTAL_TOKEN_LIFETIME_HOURS", default=12))

# --- Files: static through whitenoise, uploads through django-storages --------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")  # "local" or "s3"
if STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("STORAGE_BUCKET"),
            "endpoint_url": env.str("STORAGE_ENDPOINT_URL", default=None),
            "access_key": env.str("STORAGE_ACCESS_KEY", default=None),
            "secret_key": env.str("STORAGE_SECRET_KEY", default=None),
            "region_name": env.str("STORAGE_REGION", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif STORAGE_BACKEND == "local":
    # Uploaded documents are never served from a public URL; views stream them after a
    # permission check, so the local storage has no base_url.
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }
else:
    raise environ.ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 's3', not {STORAGE_BACKEND!r}")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Internationalization: store UTC, show each clinic's own timezone -------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security -----------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "clinicos.views.csrf_failure"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # Nonce'd <style> blocks carry per-row colours (doctors' calendar colours); no
    # inline style attributes anywhere.
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Uploaded files need their own limit (DATA_UPLOAD_MAX_MEMORY_SIZE does not bound files).
DOCUMENT_MAX_UPLOAD_BYTES = env.int("DOCUMENT_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)

# National IDs are encrypted with a key derived from this (or from SECRET_KEY when unset).
# Changing it makes stored national IDs unreadable: set it once per installation.
NATIONAL_ID_KEY = env.str("NATIONAL_ID_KEY", default="")

# --- Audit --------------------------------------------------------------------------------
SIMPLE_HISTORY_REVERT_DISABLED = True  # history is a record, never a way to edit data
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # guardian: no anonymous-user row; anonymous users get nothing

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint and fontTools narrate every PDF at INFO.
    "loggers": {name: {"level": "WARNING"} for name in ("weasyprint", "fontTools")},
}
