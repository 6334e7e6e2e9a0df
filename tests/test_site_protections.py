"""The site's own protections apply to pushed requests exactly as to classic ones (issue: PAR
changes where a request comes from and nothing else).

Each route of ``tests/protected_urls.py`` wraps DOT's authorization view in one protection;
every test attacks a pushed request through it by GET, HEAD and a blind consent POST, and
checks that no code is issued and the reference stays unredeemed wherever the protection refuses.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import checks
from django.test import Client, override_settings
from oauth2_provider.models import get_grant_model

from django_oauth_par.models import PushedRequest

from . import protected_urls
from .helpers import LOGIN_PATH, auth_params, blind_post, code_from, consent, consent_fields, pushed_uri

Grant = get_grant_model()

pytestmark = pytest.mark.urls("tests.protected_urls")


@pytest.fixture
def browser(user: Any) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


@pytest.fixture(autouse=True)
def fresh_rate_limit() -> Any:
    protected_urls.calls.clear()
    yield


def url(route: str, request_uri: str, client_id: str = "conf-client") -> str:
    return f"/{route}/authorize/?" + urlencode({"client_id": client_id, "request_uri": request_uri})


def classic(route: str) -> str:
    return f"/{route}/authorize/?" + urlencode(auth_params())


def assert_unredeemed(request_uri_count: int = 1) -> None:
    assert not Grant.objects.exists()
    assert PushedRequest.objects.filter(redeemed_at__isnull=True).count() == request_uri_count


def next_of(response: Any) -> dict[str, list[str]]:
    """The query of the ``next`` URL a redirect carries: only the client and the reference."""
    location = urlparse(response["Location"])
    next_url = urlparse(parse_qs(location.query)["next"][0])
    return parse_qs(next_url.query)


def test_user_passes_test_refuses_a_pushed_request_as_it_refuses_a_classic_one(client, browser, confidential):
    assert browser.get(classic("staff")).status_code == 302  # the baseline: non-staff is sent away
    uri = pushed_uri(client, state="staff-only")
    for response in (browser.get(url("staff", uri)), browser.head(url("staff", uri))):
        assert response.status_code == 302
        assert urlparse(response["Location"]).path == LOGIN_PATH
        assert next_of(response) == {"client_id": ["conf-client"], "request_uri": [uri]}
    blind = blind_post(browser, url("staff", uri))
    assert blind.status_code == 302 and urlparse(blind["Location"]).path == LOGIN_PATH
    assert_unredeemed()

    # The same request, once the user is staff, goes through.
    get_user_model().objects.filter(username="alice").update(is_staff=True)
    assert code_from(consent(browser, url("staff", uri)))["state"] == "staff-only"


def test_permission_required_refuses_get_head_and_post(client, browser, confidential, user):
    assert browser.get(classic("perm")).status_code == 403
    uri = pushed_uri(client)
    assert browser.get(url("perm", uri)).status_code == 403
    assert browser.head(url("perm", uri)).status_code == 403
    assert blind_post(browser, url("perm", uri)).status_code == 403
    assert_unredeemed()

    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    assert "code" in code_from(consent(browser, url("perm", uri)))


def test_second_factor_is_asked_for_and_its_next_carries_only_the_reference(client, browser, confidential):
    mark = "mark-second-factor"
    uri = pushed_uri(client, state=mark)
    response = browser.get(url("second-factor", uri))
    assert response.status_code == 302
    assert response["Location"].startswith(protected_urls.VERIFY_PATH)
    assert mark not in response["Location"]
    assert next_of(response) == {"client_id": ["conf-client"], "request_uri": [uri]}
    assert blind_post(browser, url("second-factor", uri))["Location"].startswith(protected_urls.VERIFY_PATH)
    assert_unredeemed()

    session = browser.session
    session["second_factor_verified"] = True
    session.save()
    assert code_from(consent(browser, url("second-factor", uri)))["state"] == mark


def test_response_decorators_apply_to_the_consent_page(client, browser, confidential):
    uri = pushed_uri(client)
    framed = browser.get(url("framed", uri))
    assert framed.status_code == 200
    assert framed["X-Frame-Options"] == "SAMEORIGIN"  # the route's decorator, not the middleware's DENY

    never_cached = browser.get(url("never-cached", pushed_uri(client)))
    directives = {d.strip() for d in never_cached["Cache-Control"].split(",")}
    assert {"no-cache", "no-store", "must-revalidate", "private"} <= directives


def test_rate_limiter_counts_pushed_requests(client, browser, confidential):
    uri = pushed_uri(client)
    for _ in range(protected_urls.RATE_LIMIT):
        assert browser.get(url("limited", uri)).status_code == 200
    assert browser.get(url("limited", uri)).status_code == 429
    assert blind_post(browser, url("limited", uri)).status_code == 429
    assert_unredeemed()


def test_a_later_middlewares_process_view_applies(client, confidential, user):
    uri = pushed_uri(client)
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, "tests.protected_urls.GateMiddleware"]):
        browser = Client(enforce_csrf_checks=True)  # a new handler loads the new middleware
        browser.force_login(user)
        fields = consent_fields(browser.get(url("o", uri)))
        session = browser.session
        session["gate_closed"] = True
        session.save()
        assert browser.get(url("o", uri)).status_code == 403
        assert browser.head(url("o", uri)).status_code == 403
        assert browser.post(url("o", uri), {**fields, "allow": "Authorize"}).status_code == 403
    assert_unredeemed()


def test_a_view_class_that_composes_the_mixin_itself_works(client, browser, confidential):
    uri = pushed_uri(client, state="composed")
    assert code_from(consent(browser, url("composed", uri)))["state"] == "composed"


def test_classic_requests_through_protected_routes_are_unchanged(client, browser, confidential, user):
    user.is_staff = True
    user.save()
    assert code_from(consent(browser, classic("staff")))["state"] == auth_params()["state"]


@override_settings(ROOT_URLCONF="tests.hidden_urls")
def test_wrappers_that_hide_the_view_are_refused_at_start_up():
    errors = [m for m in checks.run_checks() if m.id == "oauth_par.E006"]
    routes = sorted(m.msg.split("'")[1] for m in errors)
    assert routes == ["class-only/authorize/", "hidden/authorize/"]
    assert all("functools.wraps" in m.hint for m in errors)


@pytest.mark.urls("tests.hidden_urls")
def test_an_unreachable_view_class_is_refused_at_run_time_never_served(client, browser, confidential):
    uri = pushed_uri(client)
    response = browser.get(url("class-only", uri))
    assert response.status_code == 500
    assert "not set up to serve pushed" in response.content.decode()
    assert blind_post(browser, url("class-only", uri)).status_code == 500
    assert_unredeemed()


def test_the_example_project_passes_the_check():
    assert [m for m in checks.run_checks() if m.id == "oauth_par.E006"] == []
