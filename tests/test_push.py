"""The pushed authorization request endpoint (RFC 9126 §2) as a client observes it.

Every refused push is also checked to have stored nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from django_oauth_par.models import PushedRequest

from . import signing
from .helpers import (
    CHALLENGE,
    OTHER_REDIRECT_URI,
    PUSH_URL,
    REDIRECT_URI,
    SECRET,
    Application,
    auth_params,
    basic,
    push,
)
from .signing import make_key_client

FORM = "application/x-www-form-urlencoded"
PREFIX = "urn:ietf:params:oauth:request_uri:"
REQUEST_URI_RE = re.compile(r"^urn:ietf:params:oauth:request_uri:([A-Za-z0-9_-]{43,})$")
FOREIGN_NAME = "Foreign Client Private Name"
FOREIGN_REDIRECT = "https://foreign-rp.example/private-callback"
FOREIGN_SECRET = "foreign-client-secret-value"


@pytest.fixture
def foreign(db):
    """A client whose data must never show up in another client's answers."""
    return Application.objects.create(
        client_id="foreign-client",
        name=FOREIGN_NAME,
        client_type=Application.CLIENT_CONFIDENTIAL,
        client_secret=FOREIGN_SECRET,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=FOREIGN_REDIRECT,
        algorithm=Application.RS256_ALGORITHM,
    )


def post_raw(http, body, content_type=FORM, client_id="conf-client", secret=SECRET, **extra):
    """POST raw bytes (or text) with Basic authentication unless secret is None."""
    if secret is not None:
        extra.setdefault("HTTP_AUTHORIZATION", basic(client_id, secret))
    return http.generic("POST", PUSH_URL, body, content_type=content_type, **extra)


def assert_refused(response, status, error=None):
    """A JSON error answer, never cached, without a stack trace."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode("utf-8", "replace")
    assert "Traceback" not in text
    assert 'File "' not in text
    assert "site-packages" not in text
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert isinstance(body.get("error_description", ""), str)
    if error is not None:
        assert body["error"] == error, body
    return body


def assert_created(response):
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response["Cache-Control"] == "no-store"
    return response.json()


def only_row():
    assert PushedRequest.objects.count() == 1
    return PushedRequest.objects.get()


def stored_names(row):
    return [name for name, _value in row.parameters]


# --- methods -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_other_methods_are_405_with_allow_post(client, confidential, method):
    body = urlencode(auth_params())
    response = client.generic(
        method, PUSH_URL, body, content_type=FORM, HTTP_AUTHORIZATION=basic("conf-client", SECRET)
    )
    assert_refused(response, 405)
    assert response["Allow"] == "POST"
    assert PushedRequest.objects.count() == 0


def test_head_is_not_a_push(client, confidential):
    response = client.head(PUSH_URL, HTTP_AUTHORIZATION=basic("conf-client", SECRET))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert PushedRequest.objects.count() == 0


# --- media type and encoding ---------------------------------------------------------------------


def test_json_body_is_refused(client, confidential):
    response = client.post(
        PUSH_URL,
        auth_params(),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
    )
    assert_refused(response, response.status_code)
    assert response.status_code in (400, 415)
    assert PushedRequest.objects.count() == 0


def test_multipart_body_is_refused(client, confidential):
    # The test client's default encoding is multipart/form-data.
    response = client.post(PUSH_URL, auth_params(), HTTP_AUTHORIZATION=basic("conf-client", SECRET))
    assert response.status_code in (400, 415)
    assert_refused(response, response.status_code)
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/x-www-form-urlencodedx"])
def test_other_or_missing_media_type_is_refused(client, confidential, content_type):
    response = post_raw(client, urlencode(auth_params()), content_type=content_type)
    assert response.status_code in (400, 415)
    assert_refused(response, response.status_code)
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded;charset=utf-8",
        "Application/X-WWW-Form-URLEncoded",
    ],
)
def test_form_media_type_variants_are_accepted(client, confidential, content_type):
    response = post_raw(client, urlencode(auth_params()), content_type=content_type)
    assert_created(response)
    assert PushedRequest.objects.count() == 1


@pytest.mark.parametrize("charset", ["iso-8859-1", "utf-16", "windows-1252"])
def test_non_utf8_charset_is_refused(client, confidential, charset):
    response = post_raw(client, urlencode(auth_params()), content_type=f"{FORM}; charset={charset}")
    # RFC 9126 §2.3 answers invalid_request with 400; 415 is also a fair answer for a media-type problem.
    assert response.status_code in (400, 415)
    assert_refused(response, response.status_code, "invalid_request")
    assert PushedRequest.objects.count() == 0


def test_invalid_utf8_bytes_are_refused(client, confidential):
    body = urlencode(auth_params()).encode() + b"&state2=caf\xe9\xff"
    response = post_raw(client, body)
    assert_refused(response, 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize("encoded", ["%FF", "%C3%28", "caf%E9", "%ED%A0%80"])
def test_invalid_percent_encoded_utf8_is_refused(client, confidential, encoded):
    body = urlencode(auth_params(state=None)) + "&state=" + encoded
    response = post_raw(client, body)
    assert_refused(response, 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


def test_percent_encoded_utf8_is_decoded(client, confidential):
    response = push(client, auth_params(state="café ☕"))
    assert_created(response)
    assert ["state", "café ☕"] in only_row().parameters


# --- client authentication -----------------------------------------------------------------------


def test_client_secret_basic(client, confidential):
    assert_created(push(client, auth_params()))
    assert only_row().application == confidential


def test_client_secret_post(client, confidential):
    response = push(client, auth_params(client_secret=SECRET), secret=None)
    assert_created(response)
    row = only_row()
    assert row.application == confidential
    assert "client_secret" not in stored_names(row)


def test_public_client_by_client_id(client, public):
    response = push(client, auth_params(client_id="public-client"), secret=None)
    assert_created(response)
    assert only_row().application == public


def test_public_client_with_wrong_secret_in_basic_is_refused(client, public):
    response = push(client, auth_params(client_id="public-client"), client_id="public-client", secret="wrong")
    assert_refused(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].split()[0].lower() == "basic"
    assert PushedRequest.objects.count() == 0


def test_wrong_basic_credentials_are_not_rescued_by_a_public_client_id(client, confidential, public):
    """Failed Basic authentication is a failure, even when the body names a public client."""
    response = push(client, auth_params(client_id="public-client"), client_id="conf-client", secret="wrong")
    assert_refused(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].split()[0].lower() == "basic"
    assert PushedRequest.objects.count() == 0


def test_public_client_with_wrong_secret_in_body_is_refused(client, public):
    response = push(client, auth_params(client_id="public-client", client_secret="wrong"), secret=None)
    assert_refused(response, 401, "invalid_client")
    assert PushedRequest.objects.count() == 0


def test_wrong_secret_basic(client, confidential):
    response = push(client, auth_params(), secret="not-the-secret")
    assert_refused(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].split()[0].lower() == "basic"
    assert PushedRequest.objects.count() == 0


def test_wrong_secret_post(client, confidential):
    response = push(client, auth_params(client_secret="not-the-secret"), secret=None)
    assert_refused(response, 401, "invalid_client")
    assert "basic" in response["WWW-Authenticate"].lower()
    assert PushedRequest.objects.count() == 0


def test_unknown_client_basic(client, confidential):
    response = push(client, auth_params(client_id="nobody"), client_id="nobody", secret=SECRET)
    assert_refused(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].split()[0].lower() == "basic"
    assert PushedRequest.objects.count() == 0


def test_unknown_client_without_credentials(client, confidential):
    response = push(client, auth_params(client_id="nobody"), secret=None)
    assert_refused(response, 401, "invalid_client")
    assert "basic" in response["WWW-Authenticate"].lower()
    assert PushedRequest.objects.count() == 0


def test_confidential_client_without_credentials(client, confidential):
    response = push(client, auth_params(), secret=None)
    assert_refused(response, 401, "invalid_client")
    assert "basic" in response["WWW-Authenticate"].lower()
    assert PushedRequest.objects.count() == 0


def test_no_credentials_and_no_client_id(client, confidential):
    response = push(client, auth_params(client_id=None), secret=None)
    assert_refused(response, 401, "invalid_client")
    assert "basic" in response["WWW-Authenticate"].lower()
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"conf-client-without-colon").decode(),
        "Basic " + base64.b64encode(b"conf-\xff\xfeclient:" + SECRET.encode()).decode(),
        "Basic " + base64.b64encode(b"\xc3\x28:\xff").decode(),
        "Basic",
        "Basic ",
        "Basic é",
        "Basic abc",
        "Bearer " + SECRET,
    ],
)
def test_broken_authorization_header_is_401_not_500(client, confidential, header):
    response = push(client, auth_params(), secret=None, HTTP_AUTHORIZATION=header)
    assert_refused(response, 401, "invalid_client")
    assert "basic" in response["WWW-Authenticate"].lower()
    assert PushedRequest.objects.count() == 0


# --- binding of client_id ------------------------------------------------------------------------


def test_client_id_missing_from_body(client, confidential):
    response = push(client, auth_params(client_id=None))
    body = assert_refused(response, 400, "invalid_request")
    assert "client_id" in body["error_description"]
    assert PushedRequest.objects.count() == 0


def test_client_id_empty_counts_as_missing(client, confidential):
    response = push(client, auth_params(client_id=""))
    body = assert_refused(response, 400, "invalid_request")
    assert "client_id" in body["error_description"]
    assert PushedRequest.objects.count() == 0


def test_client_id_of_another_client(client, confidential, other_client):
    response = push(client, auth_params(client_id="other-client"))
    body = assert_refused(response, 400, "invalid_request")
    assert "client_id" in body["error_description"]
    assert PushedRequest.objects.count() == 0


def test_authenticated_as_other_client_pushing_for_first(client, confidential, other_client):
    response = push(client, auth_params(), client_id="other-client", secret=SECRET)
    assert_refused(response, 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


def test_client_id_unknown_while_authenticated(client, confidential):
    response = push(client, auth_params(client_id="no-such-client"))
    body = assert_refused(response, 400, "invalid_request")
    assert "client_id" in body["error_description"]
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": "https://attacker.example/cb"},
        {"redirect_uri": FOREIGN_REDIRECT, "scope": "read nonsense"},
        {"response_type": "bogus"},
        {"scope": "admin"},
        {"code_challenge": None},
        {"resource": "not a uri"},
        {"request_uri": PREFIX + "x" * 43},
        {"prompt": "none login"},
    ],
)
def test_binding_error_comes_before_validation(client, confidential, foreign, overrides):
    """A client probing another client's configuration only ever learns that client_id is wrong."""
    response = push(client, auth_params(client_id="foreign-client", **overrides))
    body = assert_refused(response, 400, "invalid_request")
    description = body["error_description"]
    assert "client_id" in description
    for word in ("redirect", "scope", "response_type", "challenge", "resource", "request_uri", "prompt"):
        assert word not in description.lower()
    assert FOREIGN_REDIRECT not in response.content.decode()
    assert FOREIGN_NAME not in response.content.decode()
    assert PushedRequest.objects.count() == 0


def test_foreign_client_with_its_own_valid_parameters_is_still_refused(client, confidential, foreign):
    response = push(client, auth_params(client_id="foreign-client", redirect_uri=FOREIGN_REDIRECT))
    assert_refused(response, 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


# --- parameters ----------------------------------------------------------------------------------


def test_request_uri_in_push_is_refused(client, confidential):
    response = push(client, auth_params(request_uri=PREFIX + "A" * 43))
    body = assert_refused(response, 400, "invalid_request")
    assert "request_uri" in body["error_description"]
    assert PushedRequest.objects.count() == 0


def test_request_uri_that_is_a_url_is_refused(client, confidential):
    response = push(client, auth_params(request_uri="https://rp.example/request.jwt"))
    assert_refused(response, 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize(
    "name", ["client_id", "scope", "redirect_uri", "state", "response_type", "code_challenge", "nonce"]
)
def test_repeated_parameter_is_refused(client, confidential, name):
    pairs = list(auth_params().items())
    if name not in dict(pairs):
        pairs.append((name, "n-1"))
    pairs.append((name, dict(pairs)[name]))
    response = push(client, pairs)
    body = assert_refused(response, 400, "invalid_request")
    assert name in body["error_description"]
    assert PushedRequest.objects.count() == 0


def test_repeated_client_secret_is_refused(client, confidential):
    pairs = [*auth_params().items(), ("client_secret", SECRET), ("client_secret", SECRET)]
    response = push(client, pairs, secret=None)
    assert response.status_code in (400, 401)
    assert_refused(response, response.status_code)
    assert PushedRequest.objects.count() == 0


def test_repeated_resource_is_kept_in_order(client, confidential):
    resources = ["https://api.example/z", "https://api.example/a", "https://other.example/m"]
    pairs = [*auth_params().items(), *(("resource", r) for r in resources)]
    assert_created(push(client, pairs))
    row = only_row()
    assert [value for name, value in row.parameters if name == "resource"] == resources


def test_parameters_are_stored_in_order(client, confidential):
    pairs = [
        ("state", "s-1"),
        ("resource", "https://api.example/1"),
        ("client_id", "conf-client"),
        ("scope", "read write"),
        ("nonce", "n-1"),
        ("response_type", "code"),
        ("resource", "https://api.example/2"),
        ("redirect_uri", OTHER_REDIRECT_URI),
        ("code_challenge_method", "S256"),
        ("code_challenge", CHALLENGE),
        ("x_extension", "kept"),
    ]
    assert_created(push(client, pairs))
    assert only_row().parameters == [list(pair) for pair in pairs]


def test_empty_parameters_are_treated_as_omitted(client, confidential):
    pairs = [*auth_params().items(), ("nonce", ""), ("request_uri", ""), ("prompt", ""), ("resource", "")]
    assert_created(push(client, pairs))
    row = only_row()
    for name in ("nonce", "request_uri", "prompt", "resource"):
        assert name not in stored_names(row)
    assert all(value for _name, value in row.parameters)


def test_empty_value_does_not_count_as_a_repeat(client, confidential):
    pairs = [*auth_params(state=None).items(), ("state", ""), ("state", "real-state")]
    assert_created(push(client, pairs))
    row = only_row()
    assert [value for name, value in row.parameters if name == "state"] == ["real-state"]


def test_empty_scope_is_omitted_not_stored(client, confidential):
    assert_created(push(client, auth_params(scope="")))
    assert "scope" not in stored_names(only_row())


def test_empty_client_secret_is_omitted(client, confidential):
    assert_created(push(client, [*auth_params().items(), ("client_secret", "")]))
    assert "client_secret" not in stored_names(only_row())


def test_client_credentials_are_never_stored(client, db):
    make_key_client("key-client")
    token = signing.assertion("key-client", aud=signing.PAR_ENDPOINT)
    params = {**auth_params(client_id="key-client"), **signing.assertion_params("key-client", token)}
    assert_created(push(client, params, secret=None))
    row = only_row()
    names = stored_names(row)
    for name in ("client_secret", "client_assertion", "client_assertion_type"):
        assert name not in names
    dumped = json.dumps(list(PushedRequest.objects.values()), default=str)
    assert token.split(".")[2] not in dumped
    assert signing.ASSERTION_TYPE not in dumped
    assert SECRET not in dumped


def test_client_secret_post_value_never_stored(client, confidential):
    assert_created(push(client, auth_params(client_secret=SECRET), secret=None))
    dumped = json.dumps(list(PushedRequest.objects.values()), default=str)
    assert SECRET not in dumped
    assert "client_secret" not in dumped


# --- validation as at the authorization endpoint -------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"redirect_uri": "https://attacker.example/callback"}, "invalid_request"),
        ({"redirect_uri": REDIRECT_URI + "/extra"}, "invalid_request"),
        ({"redirect_uri": "not-a-url"}, "invalid_request"),
        ({"response_type": "bogus"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "read admin"}, "invalid_scope"),
        ({"scope": "nonsense"}, "invalid_scope"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "bogus"}, "invalid_request"),
        ({"resource": "not a uri"}, "invalid_target"),
        ({"resource": "/relative/path"}, "invalid_target"),
        ({"resource": "https://api.example/#fragment"}, "invalid_target"),
        ({"resource": "https://"}, "invalid_target"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "invalid_request_object"),
    ],
)
def test_invalid_authorization_request_is_refused(client, confidential, overrides, error):
    response = push(client, auth_params(**overrides))
    assert_refused(response, 400, error)
    assert PushedRequest.objects.count() == 0


def test_one_invalid_resource_among_valid_ones(client, confidential):
    pairs = [
        *auth_params().items(),
        ("resource", "https://api.example/ok"),
        ("resource", "https://api.example/#frag"),
    ]
    assert_refused(push(client, pairs), 400, "invalid_target")
    assert PushedRequest.objects.count() == 0


def test_response_type_not_allowed_for_client(client, confidential):
    response = push(client, auth_params(response_type="token"))
    assert response.status_code == 400
    body = assert_refused(response, 400)
    assert body["error"] in ("unauthorized_client", "unsupported_response_type")
    assert PushedRequest.objects.count() == 0


def test_invalid_push_never_redirects(client, confidential):
    response = push(client, auth_params(scope="nonsense"))
    assert response.status_code == 400
    assert "Location" not in response
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize("scope", ["read", "openid read", "openid profile"])
def test_prompt_none_is_accepted_at_push_time(client, confidential, scope):
    assert_created(push(client, auth_params(prompt="none", scope=scope)))
    assert ["prompt", "none"] in only_row().parameters


@pytest.mark.parametrize("prompt", ["login", "consent", "login consent"])
def test_other_prompts_are_accepted_at_push_time(client, confidential, prompt):
    assert_created(push(client, auth_params(prompt=prompt, scope="openid read")))
    assert ["prompt", prompt] in only_row().parameters


@pytest.mark.parametrize("prompt", ["none login", "login none", "none consent"])
def test_prompt_none_combined_is_refused(client, confidential, prompt):
    response = push(client, auth_params(prompt=prompt, scope="openid read"))
    assert_refused(response, 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


def test_registered_second_redirect_uri_is_accepted(client, confidential):
    assert_created(push(client, auth_params(redirect_uri=OTHER_REDIRECT_URI)))
    assert ["redirect_uri", OTHER_REDIRECT_URI] in only_row().parameters


# --- the success answer --------------------------------------------------------------------------


def test_created_body_shape(client, confidential):
    body = assert_created(push(client, auth_params()))
    assert set(body) == {"request_uri", "expires_in"}
    assert REQUEST_URI_RE.match(body["request_uri"]), body["request_uri"]
    assert isinstance(body["expires_in"], int) and not isinstance(body["expires_in"], bool)


def test_request_uris_are_distinct(client, confidential):
    uris = {assert_created(push(client, auth_params()))["request_uri"] for _ in range(6)}
    assert len(uris) == 6
    tails = {REQUEST_URI_RE.match(uri).group(1) for uri in uris}
    assert len(tails) == 6
    assert PushedRequest.objects.count() == 6


@pytest.mark.parametrize("lifetime", [1, 45, 600])
def test_expires_in_follows_setting(client, confidential, lifetime):
    with override_settings(OAUTH2_PAR={"REQUEST_URI_LIFETIME": lifetime}):
        body = assert_created(push(client, auth_params()))
    assert body["expires_in"] == lifetime
    row = only_row()
    assert row.expires_at - row.created_at == timedelta(seconds=lifetime)


def test_expires_in_defaults_to_sixty(client, confidential):
    with override_settings(OAUTH2_PAR={}):
        assert assert_created(push(client, auth_params()))["expires_in"] == 60


@pytest.mark.parametrize("bad", [0, -5, "120", True, None, 1.5])
def test_invalid_lifetime_is_refused_never_defaulted(client, confidential, bad):
    bad_lifetime = override_settings(OAUTH2_PAR={"REQUEST_URI_LIFETIME": bad})
    with bad_lifetime, pytest.raises(ImproperlyConfigured, match="REQUEST_URI_LIFETIME"):
        push(client, auth_params())
    assert not PushedRequest.objects.exists()


def test_row_holds_only_a_digest(client, confidential):
    body = assert_created(push(client, auth_params()))
    request_uri = body["request_uri"]
    tail = request_uri[len(PREFIX) :]
    row = only_row()
    assert row.digest == hashlib.sha256(request_uri.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", row.digest)
    dumped = json.dumps(list(PushedRequest.objects.values()), default=str)
    assert request_uri not in dumped
    assert tail not in dumped
    assert tail[:20] not in dumped


def test_push_is_csrf_exempt(confidential):
    http = Client(enforce_csrf_checks=True)
    assert_created(push(http, auth_params()))
    assert PushedRequest.objects.count() == 1


# --- size limits ---------------------------------------------------------------------------------


def test_body_over_default_limit_is_413(client, confidential):
    response = push(client, auth_params(state="x" * (65 * 1024)))
    assert_refused(response, 413)
    assert PushedRequest.objects.count() == 0


def test_body_limit_boundary(client, confidential):
    body = urlencode(auth_params())
    with override_settings(OAUTH2_PAR={"MAX_BODY_BYTES": len(body)}):
        assert_created(post_raw(client, body))
    with override_settings(OAUTH2_PAR={"MAX_BODY_BYTES": len(body) - 1}):
        assert_refused(post_raw(client, body), 413)
    assert PushedRequest.objects.count() == 1


def test_body_limit_counts_bytes_not_characters(client, confidential):
    body = urlencode(auth_params(state="é" * 40)).encode()
    with override_settings(OAUTH2_PAR={"MAX_BODY_BYTES": len(body) - 1}):
        assert_refused(post_raw(client, body), 413)
    assert PushedRequest.objects.count() == 0


def test_too_many_parameters_default(client, confidential):
    pairs = [*auth_params().items(), *((f"x{i}", "1") for i in range(100))]
    response = push(client, pairs)
    assert_refused(response, 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


def test_parameter_count_boundary(client, confidential):
    base = list(auth_params().items())
    with override_settings(OAUTH2_PAR={"MAX_PARAMETERS": len(base) + 2}):
        assert_created(push(client, [*base, ("x1", "1"), ("x2", "2")]))
        assert_refused(push(client, [*base, ("x1", "1"), ("x2", "2"), ("x3", "3")]), 400, "invalid_request")
    assert PushedRequest.objects.count() == 1


def test_value_length_limit(client, confidential):
    with override_settings(OAUTH2_PAR={"MAX_VALUE_LENGTH": 100}):
        assert_created(push(client, auth_params(state="s" * 100)))
        assert_refused(push(client, auth_params(state="s" * 101)), 400, "invalid_request")
    assert PushedRequest.objects.count() == 1


@pytest.mark.parametrize(
    "pairs",
    [
        [("state", "a\x00b")],
        [("x\x00y", "1")],
        [("nonce", "\x00")],
    ],
)
def test_nul_in_parameters_is_refused(client, confidential, pairs):
    response = push(client, [*auth_params(state=None).items(), *pairs])
    assert_refused(response, 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


def test_raw_nul_byte_in_body_is_refused(client, confidential):
    body = urlencode(auth_params(state=None)).encode() + b"&state=a\x00b"
    assert_refused(post_raw(client, body), 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


def test_parameter_without_name_is_refused(client, confidential):
    body = urlencode(auth_params()) + "&=orphan"
    assert_refused(post_raw(client, body), 400, "invalid_request")
    assert PushedRequest.objects.count() == 0


# --- errors leak nothing -------------------------------------------------------------------------


BAD_PUSHES = {
    "wrong secret": {"params": auth_params(), "secret": "wrong"},
    "foreign secret basic": {
        "params": auth_params(client_id="foreign-client"),
        "client_id": "foreign-client",
        "secret": "guess",
    },
    "foreign client_id": {"params": auth_params(client_id="foreign-client")},
    "foreign redirect": {"params": auth_params(redirect_uri=FOREIGN_REDIRECT)},
    "bad scope": {"params": auth_params(scope="nope")},
    "bad response_type": {"params": auth_params(response_type="nope")},
    "no pkce": {"params": auth_params(code_challenge=None)},
    "bad resource": {"params": auth_params(resource="nope")},
    "request_uri": {"params": auth_params(request_uri=PREFIX + "B" * 43)},
    "repeated": {"params": [*auth_params().items(), ("scope", "write")]},
    "nul": {"params": auth_params(state="\x00")},
    "prompt": {"params": auth_params(prompt="none login")},
}


@pytest.mark.parametrize("case", sorted(BAD_PUSHES))
def test_error_bodies_leak_nothing(client, confidential, other_client, foreign, case):
    spec = BAD_PUSHES[case]
    before = PushedRequest.objects.count()
    response = push(
        client,
        spec["params"],
        client_id=spec.get("client_id", "conf-client"),
        secret=spec.get("secret", SECRET),
    )
    assert response.status_code in (400, 401)
    body = assert_refused(response, response.status_code)
    assert set(body) <= {"error", "error_description", "error_uri"}
    text = response.content.decode()
    for secret_value in (SECRET, FOREIGN_SECRET, FOREIGN_NAME, "client other-client", "foreign-rp.example"):
        assert secret_value not in text
    assert PushedRequest.objects.count() == before


def test_error_for_foreign_client_with_wrong_secret_is_plain_invalid_client(client, foreign):
    response = push(
        client, auth_params(client_id="foreign-client"), client_id="foreign-client", secret="guess"
    )
    body = assert_refused(response, 401, "invalid_client")
    assert FOREIGN_NAME not in body["error_description"]
    assert FOREIGN_REDIRECT not in body["error_description"]
    unknown = push(client, auth_params(client_id="nobody"), client_id="nobody", secret="guess")
    # Same answer whether or not the client exists: the endpoint is no client-id oracle.
    assert unknown.status_code == response.status_code
    assert unknown.json() == body
    assert PushedRequest.objects.count() == 0


def test_two_authentication_methods_in_one_push_are_refused(client, confidential):
    before = PushedRequest.objects.count()
    response = push(client, auth_params(client_secret=SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert PushedRequest.objects.count() == before


@pytest.mark.parametrize("scheme", ["Bearer abc", "Digest username=x", "basic Y29uZi1jbGllbnQ6eA=="])
def test_other_authorization_schemes_are_refused_even_for_public_clients(client, public, scheme):
    before = PushedRequest.objects.count()
    response = push(client, auth_params(client_id="public-client"), secret=None, HTTP_AUTHORIZATION=scheme)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert PushedRequest.objects.count() == before
