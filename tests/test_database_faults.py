"""A database that refuses: real failing queries, clean answers, nothing half-written.

Triggers make the database itself refuse a write (on SQLite and PostgreSQL alike); a
renamed table makes a read fail. Nothing in the app is replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from oauth2_provider.models import get_grant_model

from django_oauth_par.models import PushedRequest

from .helpers import (
    CHALLENGE,
    SECRET,
    auth_params,
    authorize_url,
    code_from,
    consent,
    consent_fields,
    push,
    pushed_uri,
)

pytestmark = pytest.mark.django_db(transaction=True)
Grant = get_grant_model()


@contextmanager
def refusing(table: str, operation: str) -> Iterator[None]:
    """While inside, the database refuses every ``operation`` (INSERT/UPDATE) on ``table``."""
    name = f"refuse_{operation.lower()}_{table}"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
                "LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"DROP TRIGGER {name}")
            else:
                cursor.execute(f"DROP TRIGGER {name} ON {table}")
                cursor.execute(f"DROP FUNCTION {name}()")


@contextmanager
def missing(table: str) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")


@pytest.fixture
def browser(user: Any) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def test_push_refused_by_the_database_is_a_clean_503(client, confidential, caplog):
    with refusing("oauth_par_pushedrequest", "INSERT"):
        response = push(client, auth_params())
    assert response.status_code == 503
    assert "pushed authorization request failed: database error" in caplog.text
    assert SECRET not in caplog.text and CHALLENGE not in caplog.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Cache-Control"] == "no-store"
    assert PushedRequest.objects.count() == 0
    assert push(client, auth_params()).status_code == 201  # and it recovers


def test_a_push_whose_audit_row_is_refused_stores_nothing(client, confidential):
    """The pushed request and its audit rows are one transaction: no request without its trail."""
    with refusing("oauth_par_auditevent", "INSERT"):
        response = push(client, auth_params())
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert PushedRequest.objects.count() == 0
    assert push(client, auth_params()).status_code == 201


def test_unreadable_pushed_requests_give_an_error_page(client, browser, confidential, caplog):
    request_uri = pushed_uri(client)
    with missing("oauth_par_pushedrequest"):
        response = browser.get(authorize_url(request_uri))
    assert response.status_code == 503
    assert "authorization request failed: database error" in caplog.text
    assert request_uri.rsplit(":", 1)[-1] not in caplog.text
    assert not response.has_header("Location")
    assert request_uri not in response.content.decode()
    assert browser.get(authorize_url(request_uri)).status_code == 200


def test_a_refused_redemption_issues_no_code_and_changes_nothing(client, browser, confidential, caplog):
    request_uri = pushed_uri(client)
    url = authorize_url(request_uri)
    page = browser.get(url)
    data = {**consent_fields(page), "allow": "Authorize"}
    with refusing("oauth_par_pushedrequest", "UPDATE"):
        response = browser.post(url, data)
    assert response.status_code == 503
    assert "authorization request failed: database error" in caplog.text
    assert request_uri.rsplit(":", 1)[-1] not in caplog.text
    assert not response.has_header("Location")
    assert Grant.objects.count() == 0
    assert PushedRequest.objects.get().redeemed_at is None
    code_from(consent(browser, url))  # the same request still completes afterwards
    assert Grant.objects.count() == 1


def test_a_refused_code_leaves_the_request_unredeemed(client, browser, confidential):
    url = authorize_url(pushed_uri(client))
    page = browser.get(url)
    data = {**consent_fields(page), "allow": "Authorize"}
    with refusing(Grant._meta.db_table, "INSERT"):
        response = browser.post(url, data)
    assert response.status_code == 503
    assert not response.has_header("Location")
    assert Grant.objects.count() == 0
    assert PushedRequest.objects.get().redeemed_at is None  # the redemption was rolled back with the code
    code_from(consent(browser, url))


def test_par_policy_unreadable_is_an_error_page_not_a_500(browser, confidential):
    with missing("oauth_par_clientpolicy"):
        response = browser.get("/o/authorize/", auth_params())
    assert response.status_code == 503
