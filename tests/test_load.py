"""A small race and soak against real gunicorn workers (issue 4, item 4; bench/race_soak.py in small).

gunicorn serves the test settings with two worker processes on a free loopback port, against the
test database itself (DATABASE_URL built from the test connection's settings). The data the
server must see is committed first, hence ``transactional_db``. The server is stopped whatever
happens, before pytest-django flushes the database.

Properties: of 20 simultaneous consent POSTs for one pushed request exactly one gets a code (which
redeems at /o/token/) and the others are refused; 100 complete push-and-redeem flows from four
threads all succeed; nothing answers 5xx; clearpushedrequests empties the table again.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from bench.race_soak import ROOT, Server, Target, free_port, log_in, race, soak, write_settings
from django_oauth_par.models import PushedRequest

from .helpers import REDIRECT_URI, SECRET, make_client

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

WORKERS = 2
RACERS = 20
FLOWS = 100
SOAK_THREADS = 4
PASSWORD = "alice-password"


def server_database_url() -> str:
    """The test database as a DATABASE_URL for the server process."""
    settings = connection.settings_dict
    name = str(settings["NAME"])
    if settings["ENGINE"] == "django.db.backends.sqlite3":
        if name == ":memory:" or name.startswith("file:"):
            pytest.skip("an in-memory SQLite test database cannot be shared with a server process")
        return "sqlite:///" + str(Path(name).resolve())
    if settings["ENGINE"] == "django.db.backends.postgresql":
        credentials = quote(settings["USER"] or "", safe="")
        if settings["PASSWORD"]:
            credentials += ":" + quote(settings["PASSWORD"], safe="")
        host = settings["HOST"] or "127.0.0.1"
        port = settings["PORT"] or 5432
        return f"postgres://{credentials}@{host}:{port}/{quote(name, safe='')}"
    pytest.skip(f"no DATABASE_URL for {settings['ENGINE']}")
    raise AssertionError("unreachable")


@pytest.fixture
def gunicorn(transactional_db: Any, tmp_path: Path) -> Iterator[Server]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PAR_"))}
    env.update(
        DATABASE_URL=server_database_url(),
        DJANGO_SETTINGS_MODULE=write_settings(tmp_path, "tests.settings"),
        DJANGO_DEBUG="0",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
    )
    server = Server(env, free_port(), workers=WORKERS, threads=1, log_path=tmp_path / "gunicorn.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_race_and_soak_against_gunicorn(gunicorn: Server) -> None:
    make_client("conf-client")
    get_user_model().objects.create_user("alice", password=PASSWORD)
    target = Target(
        base_url=gunicorn.base_url,
        client_id="conf-client",
        client_secret=SECRET,
        redirect_uri=REDIRECT_URI,
        username="alice",
        password=PASSWORD,
    )

    raced = race(target, log_in(target), "consent", RACERS)
    context = f"{dict(raced.statuses)}\n{gunicorn.log_tail()}"
    assert raced.server_errors == 0, context
    assert raced.codes == 1, context
    assert raced.statuses["400"] == RACERS - 1, context
    assert not raced.failures, context
    assert raced.redeemed == 200, context

    soaked = soak(target, log_in(target), FLOWS, SOAK_THREADS, deadline=time.monotonic() + 30)
    context = f"{dict(soaked.statuses)} {dict(soaked.failures)}\n{gunicorn.log_tail()}"
    assert soaked.server_errors == 0, context
    assert soaked.completed == FLOWS, context

    assert PushedRequest.objects.count() == FLOWS + 1
    assert not PushedRequest.objects.filter(redeemed_at__isnull=True).exists()
    call_command("clearpushedrequests", stdout=io.StringIO())
    assert not PushedRequest.objects.exists()
