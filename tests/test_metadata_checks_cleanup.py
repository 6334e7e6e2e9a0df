"""Discovery metadata and system checks.

This module is also a tiny URLconf (``urlpatterns`` below) that routes DOT but not the
pushed authorization request endpoint, for the checks and metadata of an unrouted endpoint.
"""

from __future__ import annotations

from io import StringIO
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.checks import Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import include, path
from oauth2_provider import urls as dot_urls

from django_oauth_par import checks

from .helpers import auth_params, push

THIS_MODULE = __name__
OURS = "django_oauth_par.middleware.PushedAuthorizationMiddleware"
RFC8414_URL = "/.well-known/oauth-authorization-server/o"
OIDC_URL = "/o/.well-known/openid-configuration"
METADATA_URLS = [RFC8414_URL, OIDC_URL]

# The URLconf without the PAR endpoint (used through override_settings(ROOT_URLCONF=THIS_MODULE)).
urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("", include((dot_urls.metadata_urlpatterns, "oauth2_metadata"))),
]


def ids(messages):
    return [message.id for message in messages]


def middleware_without_ours():
    return [name for name in settings.MIDDLEWARE if name != OURS]


# --- metadata ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_announces_push_endpoint(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    document = response.json()
    endpoint = document["pushed_authorization_request_endpoint"]
    parsed = urlparse(endpoint)
    assert parsed.scheme in ("http", "https")
    assert parsed.netloc
    assert parsed.path.endswith("/o/par/")
    assert endpoint == "http://testserver/o/par/"
    assert document["require_pushed_authorization_requests"] is False
    # The document DOT builds is otherwise intact.
    assert document["token_endpoint"] == "http://testserver/o/token/"
    assert document["authorization_endpoint"] == "http://testserver/o/authorize/"


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_endpoint_is_the_routed_push_url(client, confidential, url):
    endpoint = client.get(url).json()["pushed_authorization_request_endpoint"]
    response = push(client, auth_params())
    assert response.status_code == 201
    assert urlparse(endpoint).path == response.request["PATH_INFO"]


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_endpoint_is_https_over_https(client, db, url):
    document = client.get(url, secure=True).json()
    assert document["pushed_authorization_request_endpoint"] == "https://testserver/o/par/"


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_require_flag_follows_server_switch(client, db, url):
    with override_settings(OAUTH2_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True}):
        document = client.get(url).json()
    assert document["require_pushed_authorization_requests"] is True
    with override_settings(OAUTH2_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": False}):
        document = client.get(url).json()
    assert document["require_pushed_authorization_requests"] is False


@pytest.mark.parametrize("url", METADATA_URLS)
@pytest.mark.parametrize("bad", ["yes", 1, "true", None])
def test_metadata_refuses_an_invalid_require_flag(client, db, url, bad):
    # Never announced as False: an invalid switch stops the request, as it stops start-up.
    bad_flag = override_settings(OAUTH2_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": bad})
    with bad_flag, pytest.raises(ImproperlyConfigured, match="REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"):
        client.get(url)


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_content_length_matches(client, db, url):
    response = client.get(url)
    assert int(response["Content-Length"]) == len(response.content)


def test_metadata_without_routed_endpoint_does_not_announce_it(client, db):
    with override_settings(ROOT_URLCONF=THIS_MODULE):
        response = client.get(RFC8414_URL)
        assert response.status_code == 200
        document = response.json()
        assert "pushed_authorization_request_endpoint" not in document
        assert document["require_pushed_authorization_requests"] is False
        assert client.post("/o/par/").status_code == 404


# --- system checks -------------------------------------------------------------------------------


def test_checks_pass_on_the_example_configuration():
    assert checks.check_middleware() == []
    assert checks.check_settings() == []
    assert checks.check_urls() == []
    assert "oauth_par.E005" not in ids(checks.check_native_par())


def test_e001_middleware_missing():
    with override_settings(MIDDLEWARE=middleware_without_ours()):
        messages = checks.check_middleware()
    assert ids(messages) == ["oauth_par.E001"]
    assert isinstance(messages[0], Error)
    assert messages[0].hint


def test_e001_reported_by_manage_py_check():
    with override_settings(MIDDLEWARE=middleware_without_ours()), pytest.raises(SystemCheckError) as raised:
        call_command("check", stdout=StringIO(), stderr=StringIO())
    assert "oauth_par.E001" in str(raised.value)


@pytest.mark.parametrize(
    "before",
    [
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
    ],
)
def test_e002_middleware_before_what_it_needs(before):
    middleware = middleware_without_ours()
    middleware.insert(middleware.index(before), OURS)
    with override_settings(MIDDLEWARE=middleware):
        messages = checks.check_middleware()
    assert ids(messages) == ["oauth_par.E002"]
    assert before in messages[0].msg


def test_e002_not_raised_when_placed_right_after_authentication():
    middleware = middleware_without_ours()
    auth = "django.contrib.auth.middleware.AuthenticationMiddleware"
    middleware.insert(middleware.index(auth) + 1, OURS)
    with override_settings(MIDDLEWARE=middleware):
        assert checks.check_middleware() == []


@pytest.mark.parametrize("value", [[], "REQUEST_URI_LIFETIME=60", 60, None, ("REQUEST_URI_LIFETIME", 60)])
def test_e003_settings_not_a_dict(value):
    with override_settings(OAUTH2_PAR=value):
        messages = checks.check_settings()
    assert ids(messages) == ["oauth_par.E003"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REQUEST_URI_LIFETIME", 0),
        ("REQUEST_URI_LIFETIME", "60"),
        ("REQUEST_URI_LIFETIME", True),
        ("REQUEST_URI_LIFETIME", -1),
        ("REQUEST_URI_LIFETIME", 60.0),
        ("REQUEST_URI_LIFETIME", None),
        ("MAX_BODY_BYTES", 0),
        ("MAX_PARAMETERS", False),
        ("MAX_VALUE_LENGTH", "16384"),
        ("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", "yes"),
        ("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", 1),
        ("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", None),
    ],
)
def test_e004_bad_values(name, value):
    with override_settings(OAUTH2_PAR={name: value}):
        messages = checks.check_settings()
    assert ids(messages) == ["oauth_par.E004"]
    assert name in messages[0].msg


def test_e004_reports_every_bad_value():
    with override_settings(OAUTH2_PAR={"REQUEST_URI_LIFETIME": 0, "MAX_PARAMETERS": "x"}):
        assert ids(checks.check_settings()) == ["oauth_par.E004", "oauth_par.E004"]


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"REQUEST_URI_LIFETIME": 1},
        {"REQUEST_URI_LIFETIME": 600, "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True},
        {"MAX_BODY_BYTES": 1024, "MAX_PARAMETERS": 10, "MAX_VALUE_LENGTH": 100},
    ],
)
def test_good_values_pass(value):
    with override_settings(OAUTH2_PAR=value):
        assert checks.check_settings() == []


def test_w001_unknown_key():
    with override_settings(OAUTH2_PAR={"REQUEST_URI_LIFETIME": 60, "LIFETIME": 30}):
        messages = checks.check_settings()
    assert ids(messages) == ["oauth_par.W001"]
    assert isinstance(messages[0], Warning)
    assert "LIFETIME" in messages[0].msg


def test_w003_endpoint_not_routed():
    with override_settings(ROOT_URLCONF=THIS_MODULE):
        messages = checks.check_urls()
    assert ids(messages) == ["oauth_par.W003"]
    assert isinstance(messages[0], Warning)
    # Back on the example URLconf the endpoint is routed again.
    assert checks.check_urls() == []
