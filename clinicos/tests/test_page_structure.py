"""Every clinic page, opened with the URL walk's sample rows by a member of every role, is
well-formed where browsers are unforgiving: no ``<form>`` inside another ``<form>`` (a browser
drops the inner one, and its button posts the outer form: a doctor's "Acknowledge" once
answered 403 from the page its alert opened)."""

from html.parser import HTMLParser

import pytest
from django.db import transaction

from clinicos.tests.test_url_access import CLINIC_PAGES, PAGE_ROUTES, Walk, concrete_url, rolled_back

pytestmark = pytest.mark.django_db


class _NestedForms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.depth = 0
        self.nested: list[str] = []
        self.line = 0

    def handle_starttag(self, tag, attrs):
        if tag == "form":
            if self.depth:
                self.nested.append(f"line {self.getpos()[0]}: {dict(attrs).get('action', '')}")
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "form" and self.depth:
            self.depth -= 1


def nested_forms(html: str) -> list[str]:
    parser = _NestedForms()
    parser.feed(html)
    return parser.nested


def test_the_checker_finds_a_nested_form():
    assert nested_forms('<form action="/a"><form action="/b"></form></form>') == ["line 1: /b"]
    assert nested_forms('<form action="/a"></form><form action="/b"></form>') == []


@pytest.fixture(scope="module")
def walk(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield Walk()
        transaction.set_rollback(True)


@pytest.mark.url_walk
@pytest.mark.parametrize("name", sorted(name for name, (method, *_perms) in CLINIC_PAGES.items() if method == "get"))
def test_no_page_nests_a_form_in_a_form(name, walk, client):
    client.force_login(walk.member_of_every_role)
    url = concrete_url(PAGE_ROUTES[name], {"clinic_code": walk.clinic.code, **walk.ids})
    with rolled_back():
        response = client.get(url)
    if "text/html" in response.get("Content-Type", ""):
        assert nested_forms(response.content.decode()) == [], url
