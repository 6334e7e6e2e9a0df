"""This app beside a django-oauth-toolkit that has a PAR of its own (DOT >= 3.5).

The checks that make the takeover unambiguous, what DOT still does with its PAR switched
off, and the compat module's promise: no deprecation warning from DOT on any supported DOT.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import include, path

from django_oauth_par import checks
from django_oauth_par.compat import DOT_HAS_NATIVE_PAR
from django_oauth_par.models import PushedRequest

from .helpers import auth_params, authorize_url, pushed_uri

THIS_MODULE = __name__
ROOT = Path(__file__).resolve().parents[1]
native_only = pytest.mark.skipif(not DOT_HAS_NATIVE_PAR, reason="this DOT has no PAR of its own")

# DOT's URLs first: DOT >= 3.5's own par/ then answers /o/par/ (used through ROOT_URLCONF=THIS_MODULE).
urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("o/", include("django_oauth_par.urls")),
]


def ids(messages):
    return [message.id for message in messages]


def dot_settings(**changes):
    values = {**settings.OAUTH2_PROVIDER, **changes}
    return {key: value for key, value in values.items() if value is not None}


def test_no_native_par_message_on_the_test_configuration():
    assert checks.check_native_par() == []


@native_only
def test_e005_dot_par_left_at_its_default():
    with override_settings(OAUTH2_PROVIDER=dot_settings(PAR_ENABLED=None)):
        messages = checks.check_native_par()
    assert ids(messages) == ["oauth_par.E005"]
    assert 'OAUTH2_PROVIDER["PAR_ENABLED"] = False' in messages[0].hint


@native_only
def test_e005_dot_par_switched_on():
    with override_settings(OAUTH2_PROVIDER=dot_settings(PAR_ENABLED=True)):
        assert ids(checks.check_native_par()) == ["oauth_par.E005"]


@native_only
def test_e009_dot_par_required_switch():
    with override_settings(OAUTH2_PROVIDER=dot_settings(REQUIRE_PUSHED_AUTHORIZATION_REQUESTS=True)):
        messages = checks.check_native_par()
    assert ids(messages) == ["oauth_par.E009"]
    assert 'OAUTH2_PAR["REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"] = True' in messages[0].hint


def test_no_message_for_dot_par_settings_a_dot_without_par_ignores():
    if DOT_HAS_NATIVE_PAR:
        pytest.skip("this DOT has a PAR of its own")
    changes = {"PAR_ENABLED": True, "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True}
    with override_settings(OAUTH2_PROVIDER=dot_settings(**changes)):
        assert checks.check_native_par() == []


@native_only
def test_e008_dot_urls_first_shadow_the_push_endpoint(client, confidential):
    with override_settings(ROOT_URLCONF=THIS_MODULE):
        messages = checks.check_native_par()
        # What the check warns of: DOT's disabled endpoint answers, and nothing is pushed.
        response = client.post("/o/par/", {"client_id": "conf-client"})
    assert ids(messages) == ["oauth_par.E008"]
    assert "before oauth2_provider.urls" in messages[0].hint
    assert response.status_code == 404
    assert not PushedRequest.objects.exists()


@native_only
def test_dot_par_disabled_routes_pushes_to_this_app(client, confidential):
    request_uri = pushed_uri(client)
    assert PushedRequest.objects.count() == 1
    from oauth2_provider.models import get_par_request_model

    assert not get_par_request_model().objects.exists()
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:")


@native_only
def test_dot_metadata_announces_this_apps_endpoint_only(client, db):
    document = client.get("/.well-known/oauth-authorization-server/o").json()
    assert document["pushed_authorization_request_endpoint"] == "http://testserver/o/par/"


@native_only
def test_dot_side_par_flag_does_not_refuse_a_redeemed_request(client, confidential, user):
    """DOT >= 3.5 reads its Application flag in its GET whatever PAR_ENABLED says."""
    confidential.require_pushed_authorization_requests = True
    confidential.save()
    client.force_login(user)
    response = client.get(authorize_url(pushed_uri(client)))
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content


@native_only
def test_a_reference_stored_by_dot_is_unknown_here(client, confidential, user):
    """In-flight pushes made to DOT's PAR before the switch are refused, not half-honoured."""
    from oauth2_provider.models import create_pushed_authorization_request

    reference = "urn:ietf:params:oauth:request_uri:stored-by-dot"
    create_pushed_authorization_request(
        request_uri=reference,
        client_id="conf-client",
        parameters={"response_type": "code", "client_id": "conf-client"},
        expires_in=60,
    )
    client.force_login(user)
    response = client.get(authorize_url(reference))
    assert response.status_code == 400
    assert b"invalid_request_uri" in response.content


def test_no_deprecation_warning_from_dot_on_import():
    """Every module of the app imports from DOT's current paths (through compat.py)."""
    script = (
        "import django, pkgutil, importlib; django.setup(); import django_oauth_par; "
        "[importlib.import_module('django_oauth_par.' + m.name) "
        "for m in pkgutil.iter_modules(django_oauth_par.__path__)]"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", script],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@native_only
def test_private_key_jwt_push_uses_dots_own_client_keys(client, db):
    """DOT >= 3.5 keeps client keys on the Application and verifies RFC 7523 assertions itself."""
    import json
    import time
    import uuid

    from jwcrypto import jwk, jwt

    from django_oauth_par.registration import dot_has_client_keys

    from .helpers import make_client

    assert dot_has_client_keys()
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="client-key")
    make_client(
        "jwt-client",
        token_endpoint_auth_method="private_key_jwt",
        client_jwks=json.dumps({"keys": [json.loads(key.export_public())]}),
    )
    now = int(time.time())
    claims = {
        "iss": "jwt-client",
        "sub": "jwt-client",
        "aud": "http://testserver/o/par/",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 60,
    }
    assertion = jwt.JWT(header={"alg": "RS256", "kid": "client-key"}, claims=claims)
    assertion.make_signed_token(key)
    body = {
        **auth_params(client_id="jwt-client"),
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion.serialize(),
    }
    form = "application/x-www-form-urlencoded"
    response = client.post("/o/par/", urlencode(body), content_type=form)
    assert response.status_code == 201, response.content
    stored = json.dumps(list(PushedRequest.objects.values()), default=str)
    assert "client_assertion" not in stored
    # The same assertion again is a replay (jti), refused by DOT's check.
    assert client.post("/o/par/", urlencode(body), content_type=form).status_code == 401
