"""Start-up refuses a database without this app's tables, once per process, and never blocks on an outage.

The missing tables are real: renamed inside the test's transaction (rolled back after it)
on whichever database the suite runs on, or a fresh database file nobody migrated.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext

from django_oauth_par import startup
from django_oauth_par.middleware import PushedAuthorizationMiddleware
from django_oauth_par.models import ClientPolicy, PushedRequest

from .helpers import start_wsgi_application


@pytest.fixture
def unverified(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """A process that has verified no database yet."""
    fresh: set[str] = set()
    monkeypatch.setattr(startup, "verified_aliases", fresh)
    return fresh


def build_middleware() -> PushedAuthorizationMiddleware:
    return PushedAuthorizationMiddleware(lambda request: HttpResponse())


def rename_table(model: Any) -> None:
    quote = connection.ops.quote_name
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(table + '_hidden')}")


@pytest.mark.django_db
def test_a_migrated_database_is_checked_once_per_process(unverified):
    with CaptureQueriesContext(connection) as first:
        build_middleware()
    assert unverified == {DEFAULT_DB_ALIAS}
    assert len(first.captured_queries) >= 1
    with CaptureQueriesContext(connection) as later:
        build_middleware()
        startup.require_migrated_tables()
    assert later.captured_queries == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", [PushedRequest, ClientPolicy], ids=["PushedRequest", "ClientPolicy"])
def test_a_missing_table_stops_the_middleware_from_being_built(unverified, model):
    rename_table(model)
    with pytest.raises(ImproperlyConfigured, match=r"manage\.py migrate") as raised:
        build_middleware()
    assert model._meta.db_table in str(raised.value)
    assert "'default'" in str(raised.value)
    assert unverified == set()  # asked again by the next process, or the next build


@pytest.mark.django_db
def test_a_missing_column_stops_the_middleware_from_being_built(unverified):
    quote = connection.ops.quote_name
    table = PushedRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE {quote(table)} RENAME COLUMN {quote('outcome')} TO {quote('outcome_old')}"
        )
    with pytest.raises(ImproperlyConfigured, match=rf"{table}\.outcome\b"):
        build_middleware()


@pytest.mark.django_db
def test_a_verified_database_is_not_asked_again(unverified):
    build_middleware()
    rename_table(PushedRequest)
    build_middleware()  # verified once per process: no query per request or per build


def test_a_wsgi_server_refuses_to_start_on_a_database_nobody_migrated(tmp_path):
    database = tmp_path / "never-migrated.sqlite3"
    result = start_wsgi_application(
        tmp_path,
        f"""
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {str(database)!r}}}}}
        """,
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:")
    assert "oauth_par_pushedrequest" in last_line and "manage.py migrate" in last_line


def test_a_wsgi_server_starts_while_the_database_is_unreachable(tmp_path):
    # Port 1 on this machine: nothing listens, so the connection is refused at once.
    result = start_wsgi_application(
        tmp_path,
        """
        DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "nowhere",
                                 "USER": "postgres", "HOST": "127.0.0.1", "PORT": "1"}}
        """,
    )
    assert result.returncode == 0, result.stderr


def test_a_database_out_of_reach_does_not_block_start_up(unverified, caplog):
    # No database fixture: pytest-django refuses the connection, as an outage would.
    caplog.set_level(logging.WARNING, logger="django_oauth_par")
    build_middleware()
    assert unverified == set()
    assert any("'default'" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_a_middleware_built_inside_an_event_loop_starts_and_asks_later(unverified, caplog):
    caplog.set_level(logging.WARNING, logger="django_oauth_par")

    async def build() -> None:
        build_middleware()

    asyncio.run(build())
    assert unverified == set()
    assert "SynchronousOnlyOperation" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_check_closes_the_connection_it_opened(unverified):
    # A server that forks after loading the application must not share this socket.
    connection.close()
    build_middleware()
    assert connection.connection is None
    assert unverified == {DEFAULT_DB_ALIAS}
