"""Settings for the test suite: the real settings, plus what only makes tests faster
(a fast password hasher, an in-process cache) and plain-HTTP cookies for the browser
tests' local server."""

import os
import tempfile

os.environ.setdefault("CLINICOS_ENV_FILE", "")  # a developer's .env must not change the tests
os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="clinicos-test-media-"))

from clinicos.settings import *  # noqa: F403
from clinicos.settings import STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Texts stay in memory (clinicos.messaging.providers.sent); email goes through the real
# provider into Django's locmem outbox (django.core.mail.outbox).
MESSAGING_PROVIDERS = {
    "sms": "clinicos.messaging.providers.MemoryProvider",
    "whatsapp": "clinicos.messaging.providers.MemoryProvider",
    "email": "clinicos.messaging.providers.EmailProvider",
}
MESSAGES_SEND_INLINE = True
STATIC_ROOT = None  # type: ignore[assignment]  # tests serve static files from the finders; nothing is collected
DEMO_PATIENTS_PER_CLINIC = 41  # enough for a page and more, with a document or two

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A database file, not SQLite's shared in-memory one: the browser tests' live server
    # answers several requests at once (a page, its HTMX panels, the bell's poll), and
    # only a file gives them WAL and the busy timeout instead of "database table is locked".
    # It lives in the checkout (pytest-django adds each xdist worker's suffix), so that
    # --reuse-db (pytest.ini) finds it again and the next run skips the migrations;
    # --create-db (CI) starts afresh.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-databases" / "test.sqlite3")}  # noqa: F405
    (BASE_DIR / ".test-databases").mkdir(exist_ok=True)  # noqa: F405
