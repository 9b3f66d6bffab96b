"""Settings that matter for safety: SQLite's locking mode and the production defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db.backends.sqlite3.base import DatabaseWrapper

ROOT = Path(__file__).resolve().parents[2]
# Variables the test settings (or a developer's shell) set, which production would not.
TEST_ONLY_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "ALLOWED_HOSTS",
    "MEDIA_ROOT",
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "REDIS_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def production_env(**overrides) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES}
    return {**clean, "CLINICOS_ENV_FILE": "", **overrides}


def run_settings(env: dict, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='clinicos.settings'; django.setup(); " + code],
        env=production_env(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(tmp_path, django_db_blocker):
    options = run_settings(
        {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        "from django.conf import settings; o = settings.DATABASES['default']['OPTIONS']; print(o['transaction_mode'], 'WAL' in o['init_command'])",
    )
    assert options == "IMMEDIATE True"
    wrapper = DatabaseWrapper(
        {
            **settings.DATABASES["default"],
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(tmp_path / "wal.sqlite3"),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
            "TEST": {},
        },
        alias="wal_check",
    )
    try:
        with django_db_blocker.unblock(), wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
    finally:
        wrapper.close()


def test_postgres_is_used_when_database_url_says_so():
    engine = run_settings(
        {"DEBUG": "1", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/clinicos"},
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])",
    )
    assert engine == "django.db.backends.postgresql"


def test_production_settings_pass_check_deploy(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(
            SECRET_KEY="x" * 30 + "-production-like-secret-key-value-0123456789",
            ALLOWED_HOSTS="clinic.example.com",
            DATABASE_URL=f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}",
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_ssl_redirect_is_on_by_default_and_can_be_turned_off_behind_a_proxy():
    assert run_settings({"SECRET_KEY": "s" * 50}, "from django.conf import settings; print(settings.SECURE_SSL_REDIRECT)") == "True"
    assert (
        run_settings(
            {"SECRET_KEY": "s" * 50, "SECURE_SSL_REDIRECT": "0"}, "from django.conf import settings; print(settings.SECURE_SSL_REDIRECT)"
        )
        == "False"
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=production_env(), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_redis_cache_when_redis_url_is_set():
    backend = run_settings(
        {"DEBUG": "1", "REDIS_URL": "redis://127.0.0.1:6379/1"},
        "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])",
    )
    assert backend == "clinicos.cache.FailSoftRedisCache"


@pytest.mark.django_db
def test_responses_carry_the_security_headers(client):
    response = client.get("/accounts/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'nonce-" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
