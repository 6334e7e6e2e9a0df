"""One pushed request, many simultaneous uses: exactly one authorization response (PAR-SPEC §2).

Real threads, each with its own ``django.test.Client`` carrying the same browser
session, hit the authorization endpoint at the same moment. The database decides
the winner, so these run in real transactions on SQLite and PostgreSQL alike.

On SQLite the test database is a file (tests/settings.py), as in any deployment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from oauth2_provider.models import get_grant_model

from django_oauth_par.models import PushedRequest

from .helpers import REDIRECT_URI, auth_params, authorize_url, make_client, push, pushed_uri

Grant = get_grant_model()

THREADS = 12
pytestmark = pytest.mark.django_db(transaction=True)


def browser_copies(browser: Client, count: int) -> list[Client]:
    """``count`` independent clients sharing ``browser``'s cookies (session and CSRF)."""
    copies = []
    for _ in range(count):
        copy = Client(enforce_csrf_checks=True, raise_request_exception=False)
        for name, morsel in browser.cookies.items():
            copy.cookies[name] = morsel.value
        copies.append(copy)
    return copies


def race(clients: list[Client], send: Callable[[Client], Any]) -> list[Any]:
    """Call ``send`` with each client in its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(clients))
    results: list[Any] = [None] * len(clients)

    def worker(index: int, http: Client) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = send(http)
        except BaseException as error:  # noqa: BLE001 - reported by the assertions below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index, http)) for index, http in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return results


def assert_one_code(results: list[Any]) -> None:
    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    statuses = sorted(response.status_code for response in results)
    assert all(status < 500 for status in statuses), statuses

    redirects = [response for response in results if response.status_code == 302]
    assert len(redirects) == 1, statuses
    location = redirects[0]["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    assert "code=" in location and "error=" not in location

    refused = [response for response in results if response is not redirects[0]]
    assert len(refused) == len(results) - 1
    for response in refused:
        assert response.status_code == 400, statuses
        assert not response.has_header("Location")
        assert "invalid_request_uri" in response.content.decode()

    assert Grant.objects.count() == 1
    assert PushedRequest.objects.get().redeemed_at is not None


def test_racing_consent_posts_issue_exactly_one_code(confidential, user):
    rp = Client()
    uri = pushed_uri(rp, state="raced")
    url = authorize_url(uri)

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get(url)
    assert page.status_code == 200
    fields = {"csrfmiddlewaretoken": page.context["csrf_token"], "allow": "Authorize"}

    results = race(browser_copies(browser, THREADS), lambda http: http.post(url, fields))
    assert_one_code(results)
    winner = next(response for response in results if response.status_code == 302)
    assert "state=raced" in winner["Location"]


def test_racing_gets_of_a_skip_authorization_client_issue_exactly_one_code(db, user):
    make_client("skip-client", skip_authorization=True)
    rp = Client()
    response = push(rp, auth_params(client_id="skip-client"), client_id="skip-client")
    assert response.status_code == 201, response.content
    url = authorize_url(response.json()["request_uri"], client_id="skip-client")

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    results = race(browser_copies(browser, THREADS), lambda http: http.get(url))
    assert_one_code(results)


def test_racing_denials_issue_exactly_one_error_redirect(confidential, user):
    rp = Client()
    uri = pushed_uri(rp)
    url = authorize_url(uri)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get(url)
    fields = {"csrfmiddlewaretoken": page.context["csrf_token"]}

    results = race(browser_copies(browser, THREADS), lambda http: http.post(url, fields))
    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    statuses = sorted(response.status_code for response in results)
    assert statuses == [302] + [400] * (THREADS - 1), statuses
    winner = next(response for response in results if response.status_code == 302)
    assert winner["Location"].startswith(REDIRECT_URI + "?")
    assert "error=access_denied" in winner["Location"]
    assert not Grant.objects.exists()
