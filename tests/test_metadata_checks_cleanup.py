"""Discovery metadata, system checks, the cleanup command and the admin.

This module is also a tiny URLconf (``urlpatterns`` below) that routes DOT but not the
pushed authorization request endpoint, for the checks and metadata of an unrouted endpoint.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from io import StringIO
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.test import override_settings
from django.urls import include, path, reverse
from django.utils import timezone
from oauth2_provider import urls as dot_urls

from django_oauth_par import checks
from django_oauth_par.models import PushedRequest

from .helpers import CHALLENGE, REDIRECT_URI, auth_params, push

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


# --- invalid settings never become the defaults -------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "not a dict",
        [],
        {"REQUEST_URI_LIFETIME": 0},
        {"REQUEST_URI_LIFETIME": "60"},
        {"REQUEST_URI_LIFETIME": True},
        {"MAX_BODY_BYTES": 0},
        {"MAX_BODY_BYTES": "big"},
        {"MAX_PARAMETERS": 0},
        {"MAX_PARAMETERS": None},
        {"MAX_VALUE_LENGTH": -1},
    ],
)
def test_invalid_settings_stop_the_push_and_store_nothing(client, confidential, value):
    with override_settings(OAUTH2_PAR=value), pytest.raises(ImproperlyConfigured, match="OAUTH2_PAR"):
        push(client, auth_params())
    assert not PushedRequest.objects.exists()


def test_unknown_keys_are_ignored_at_run_time(client, confidential):
    with override_settings(OAUTH2_PAR={"UNKNOWN": object()}):
        assert push(client, auth_params()).status_code == 201


def test_an_invalid_limit_is_never_replaced_by_the_default(client, confidential):
    with override_settings(OAUTH2_PAR={"MAX_BODY_BYTES": "1"}), pytest.raises(ImproperlyConfigured):
        push(client, auth_params())


# --- clearpushedrequests -------------------------------------------------------------------------


def make_row(application, *, expires_in=60, redeemed=False):
    now = timezone.now()
    return PushedRequest.objects.create(
        application=application,
        digest=secrets.token_hex(32),
        parameters=[["state", "s"]],
        created_at=now - timedelta(seconds=120),
        expires_at=now + timedelta(seconds=expires_in),
        redeemed_at=now - timedelta(seconds=1) if redeemed else None,
    )


def clear(*args):
    out = StringIO()
    call_command("clearpushedrequests", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def counts(output):
    match = re.search(r"(\d+) redeemed and (\d+) expired", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def test_clear_deletes_redeemed_and_expired_keeps_pending(confidential, other_client):
    pending = [make_row(confidential), make_row(other_client, expires_in=3600)]
    redeemed = [make_row(confidential, redeemed=True), make_row(other_client, redeemed=True)]
    redeemed_and_expired = make_row(confidential, redeemed=True, expires_in=-30)
    expired = [make_row(confidential, expires_in=-1), make_row(other_client, expires_in=-3600)]
    output = clear()
    assert counts(output) == (3, 2)
    remaining = set(PushedRequest.objects.values_list("pk", flat=True))
    assert remaining == {row.pk for row in pending}
    gone = [*redeemed, redeemed_and_expired, *expired]
    assert not PushedRequest.objects.filter(pk__in=[row.pk for row in gone]).exists()


def test_clear_on_real_pushes(client, confidential):
    uris = [push(client, auth_params()).json()["request_uri"] for _ in range(3)]
    assert len(set(uris)) == 3
    rows = list(PushedRequest.objects.order_by("pk"))
    PushedRequest.objects.filter(pk=rows[0].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    PushedRequest.objects.filter(pk=rows[1].pk).update(redeemed_at=timezone.now())
    assert counts(clear()) == (1, 1)
    assert list(PushedRequest.objects.values_list("pk", flat=True)) == [rows[2].pk]


def test_clear_with_nothing_to_do(confidential):
    keep = make_row(confidential)
    assert counts(clear()) == (0, 0)
    assert list(PushedRequest.objects.values_list("pk", flat=True)) == [keep.pk]


def test_clear_twice_reports_zero_the_second_time(confidential):
    make_row(confidential, redeemed=True)
    make_row(confidential, expires_in=-5)
    assert counts(clear()) == (1, 1)
    assert counts(clear()) == (0, 0)


@pytest.mark.parametrize("batch_size", ["1", "7"])
def test_clear_in_small_batches(confidential, other_client, batch_size):
    for index in range(12):
        make_row(confidential if index % 2 else other_client, redeemed=True)
    for _ in range(13):
        make_row(confidential, expires_in=-10)
    pending = {make_row(other_client).pk for _ in range(5)}
    assert counts(clear("--batch-size", batch_size)) == (12, 13)
    assert set(PushedRequest.objects.values_list("pk", flat=True)) == pending


def test_clear_batch_size_keyword(confidential):
    for _ in range(4):
        make_row(confidential, redeemed=True)
    out = StringIO()
    call_command("clearpushedrequests", batch_size=1, stdout=out)
    assert counts(out.getvalue()) == (4, 0)
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize("batch_size", ["0", "-3"])
def test_clear_rejects_non_positive_batch_size(confidential, batch_size):
    make_row(confidential, redeemed=True)
    make_row(confidential, expires_in=-10)
    with pytest.raises(CommandError):
        clear("--batch-size", batch_size)
    assert PushedRequest.objects.count() == 2


def test_clear_rejects_non_integer_batch_size(confidential):
    make_row(confidential, redeemed=True)
    with pytest.raises(CommandError):
        clear("--batch-size", "ten")
    assert PushedRequest.objects.count() == 1


# --- admin ---------------------------------------------------------------------------------------


STATE_SENTINEL = "state-sentinel-7d1f"
NONCE_SENTINEL = "nonce-sentinel-93ab"
RESOURCE_SENTINEL = "https://resource-sentinel.example/api"


@pytest.fixture
def admin_http(client, db):
    get_user_model().objects.create_superuser("root", "root@example.com", "root-password")
    assert client.login(username="root", password="root-password")
    return client


@pytest.fixture
def pushed(client, confidential):
    response = push(
        client,
        auth_params(
            state=STATE_SENTINEL, nonce=NONCE_SENTINEL, scope="openid read", resource=RESOURCE_SENTINEL
        ),
    )
    assert response.status_code == 201
    request_uri = response.json()["request_uri"]
    return request_uri, PushedRequest.objects.get()


def cell(html, pattern):
    match = re.search(pattern, html, re.S)
    assert match, pattern
    return match.group(1)


def assert_nothing_pushed_shown(html, request_uri, row):
    for value in (
        STATE_SENTINEL,
        NONCE_SENTINEL,
        RESOURCE_SENTINEL,
        CHALLENGE,
        REDIRECT_URI,
        request_uri,
        request_uri.rsplit(":", 1)[1],
        row.digest,
    ):
        assert value not in html, value


def test_admin_changelist_shows_names_not_values(admin_http, pushed):
    request_uri, row = pushed
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<td class="field-application[^"]*">client conf-client</td>', html)
    names = cell(html, r'<td class="field-names">(.*?)</td>')
    assert names.split(", ") == list(dict.fromkeys(name for name, _value in row.parameters))
    assert cell(html, r'<td class="field-status">(.*?)</td>') == "pending"
    assert_nothing_pushed_shown(html, request_uri, row)


def test_admin_change_page_shows_names_not_values(admin_http, pushed):
    request_uri, row = pushed
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_change", args=[row.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    readonly = re.findall(r'<div class="readonly">(.*?)</div>', html, re.S)
    assert any(re.fullmatch(r"(<a [^>]*>)?client conf-client(</a>)?", value) for value in readonly)
    expected_names = ", ".join(name for name, _value in row.parameters)
    assert expected_names in readonly
    for name in ("response_type", "redirect_uri", "state", "nonce", "code_challenge", "resource"):
        assert name in expected_names
    assert "pending" in readonly
    assert_nothing_pushed_shown(html, request_uri, row)


def test_admin_changelist_shows_redeemed_state(admin_http, pushed):
    _request_uri, row = pushed
    PushedRequest.objects.filter(pk=row.pk).update(redeemed_at=timezone.now())
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_changelist"))
    assert response.status_code == 200
    assert cell(response.content.decode(), r'<td class="field-status">(.*?)</td>') == "redeemed"


def test_admin_cannot_add(admin_http, db):
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_add"))
    assert response.status_code == 403
    changelist = admin_http.get(reverse("admin:oauth_par_pushedrequest_changelist"))
    assert reverse("admin:oauth_par_pushedrequest_add") not in changelist.content.decode()


def test_admin_cannot_delete(admin_http, pushed):
    _request_uri, row = pushed
    response = admin_http.get(reverse("admin:oauth_par_pushedrequest_delete", args=[row.pk]))
    assert response.status_code == 403
    response = admin_http.post(
        reverse("admin:oauth_par_pushedrequest_delete", args=[row.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    admin_http.post(
        reverse("admin:oauth_par_pushedrequest_changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert PushedRequest.objects.filter(pk=row.pk).exists()


def test_admin_cannot_change(admin_http, pushed):
    _request_uri, row = pushed
    response = admin_http.post(
        reverse("admin:oauth_par_pushedrequest_change", args=[row.pk]),
        {"redeemed_at_0": "2000-01-01", "redeemed_at_1": "00:00:00"},
    )
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.redeemed_at is None


def test_admin_requires_staff(client, pushed):
    _request_uri, row = pushed
    response = client.get(reverse("admin:oauth_par_pushedrequest_change", args=[row.pk]))
    assert response.status_code == 302
    assert STATE_SENTINEL not in response.content.decode()


def test_admin_application_page_has_policy_switch(admin_http, confidential):
    response = admin_http.get(reverse("admin:oauth2_provider_application_change", args=[confidential.pk]))
    assert response.status_code == 200
    assert "require_pushed_authorization_requests" in response.content.decode()
