"""System checks: the middleware, the settings and the routes, and nothing on the example site.

A check that guards one feature (the settings table, the audit trail, DOT's own PAR, the
views the app must serve) is tested with that feature's other tests.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_oauth_par import checks

OURS = "django_oauth_par.middleware.PushedAuthorizationMiddleware"


def ids(messages):
    return [message.id for message in messages]


def middleware_without_ours():
    return [name for name in settings.MIDDLEWARE if name != OURS]


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
    with override_settings(ROOT_URLCONF="tests.unrouted_urls"):
        messages = checks.check_urls()
    assert ids(messages) == ["oauth_par.W003"]
    assert isinstance(messages[0], Warning)
    # Back on the example URLconf the endpoint is routed again.
    assert checks.check_urls() == []
