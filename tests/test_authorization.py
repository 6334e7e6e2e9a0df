"""DOT's authorization view answering from a pushed request, driven like a browser (PAR-SPEC §2 and §3).

A ``browser`` (a ``django.test.Client`` with CSRF checks on) goes through DOT's stock
templates and the example project's login form; the ``client`` fixture plays the
relying party's back channel (pushes and code exchanges).

The consent POST gets no further than its GET would: attacks POST the approval straight to
the endpoint (with a valid CSRF token, never having been shown a consent page) and check
that each pushed ``prompt`` holds, and that the outcome recorded for the audit trail is the
response actually sent.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model

from django_oauth_par.authorization import authorization_outcome
from django_oauth_par.models import PushedRequest

from .helpers import (
    CHALLENGE,
    OTHER_REDIRECT_URI,
    REDIRECT_URI,
    Application,
    assert_error_page,
    assert_login_redirect,
    auth_params,
    authorize_url,
    blind_post,
    code_from,
    consent,
    consent_fields,
    exchange,
    log_in_through_form,
    make_client,
    push,
    pushed_uri,
)

Grant = get_grant_model()
AccessToken = get_access_token_model()

EVIL = "https://evil.example/"
OTHER_VERIFIER = "w" * 64
OTHER_CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(OTHER_VERIFIER.encode()).digest()).rstrip(b"=").decode()
)
RESOURCE_1 = "https://api.example/one"
RESOURCE_2 = "https://api.example/two"
CLAIMS = json.dumps({"id_token": {"email": None}})


# Fixtures -----------------------------------------------------------------------------


@pytest.fixture
def skip_client(db: Any) -> Any:
    return make_client("skip-client", skip_authorization=True)


# Helpers ------------------------------------------------------------------------------


def marker() -> str:
    return "mark" + secrets.token_hex(12)


def jwt_payload(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# The login-first flow -----------------------------------------------------------------


def test_login_first_flow_to_token_leaks_nothing(client, browser, confidential, user):
    mark = marker()
    uri = pushed_uri(client, state=mark + "s", nonce=mark + "n", scope="openid read")

    first = browser.get(authorize_url(uri))
    login_location = assert_login_redirect(first, uri)
    for pushed_value in (mark, "openid", "rp.example", CHALLENGE, "scope", "state", "redirect_uri"):
        assert pushed_value not in login_location

    back = log_in_through_form(browser, login_location)
    assert back["Location"] == authorize_url(uri)
    page = browser.get(back["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="authorizationForm"' in body
    assert mark not in body and CHALLENGE not in body and REDIRECT_URI not in body

    reloaded = browser.get(back["Location"])
    assert reloaded.status_code == 200
    assert 'id="authorizationForm"' in reloaded.content.decode()

    params = code_from(browser.post(back["Location"], {**consent_fields(reloaded), "allow": "Authorize"}))
    assert params["state"] == mark + "s"
    assert "iss" not in params or params["iss"].startswith("http")

    token = exchange(client, params["code"])
    assert token.status_code == 200, token.content
    assert set(token.json()["scope"].split()) == {"openid", "read"}
    assert jwt_payload(token.json()["id_token"])["nonce"] == mark + "n"


def test_consent_page_carries_no_pushed_value(client, signed_in, confidential):
    mark = marker()
    uri = pushed_uri(client, state=mark + "-state", nonce=mark + "-nonce", scope="openid read", claims=CLAIMS)
    page = signed_in.get(authorize_url(uri))
    assert page.status_code == 200
    body = html.unescape(page.content.decode())
    assert mark not in body
    assert CHALLENGE not in body
    assert REDIRECT_URI not in body
    assert '"email"' not in body
    fields = consent_fields(page)
    for name in ("redirect_uri", "scope", "nonce", "state", "code_challenge", "claims", "client_id"):
        assert not fields.get(name), name


def test_issuer_is_added_to_the_code_redirect_when_configured(client, signed_in, confidential):
    provider = {
        **settings.OAUTH2_PROVIDER,
        "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
        "OIDC_ISS_ENDPOINT": "https://as.example",
    }
    with override_settings(OAUTH2_PROVIDER=provider):
        uri = pushed_uri(client, state="st-iss")
        params = code_from(consent(signed_in, authorize_url(uri)))
    assert params["state"] == "st-iss"
    assert params["iss"] == "https://as.example"


# Tampering ----------------------------------------------------------------------------

TAMPERED = {
    "scope": "openid read write",
    "redirect_uri": OTHER_REDIRECT_URI,
    "state": "tampered-state",
    "code_challenge": OTHER_CHALLENGE,
    "nonce": "tampered-nonce",
    "claims": json.dumps({"userinfo": {"phone_number": None}}),
    "resource": "https://evil.example/api",
    "client_id": "other-client",
    "response_type": "token",
}


@pytest.mark.parametrize(
    "overrides",
    [
        *({name: value} for name, value in TAMPERED.items()),
        {"redirect_uri": EVIL},
        {"code_challenge_method": "plain", "code_challenge": OTHER_VERIFIER},
        TAMPERED,
    ],
    ids=[*TAMPERED, "redirect_uri-evil", "pkce-plain", "everything"],
)
def test_tampered_consent_post_changes_nothing(client, signed_in, confidential, other_client, overrides):
    mark = marker()
    uri = pushed_uri(
        client, scope="openid read", state=mark, nonce=mark + "n", claims=CLAIMS, resource=RESOURCE_1
    )
    response = consent(signed_in, authorize_url(uri), **overrides)
    params = code_from(response)
    assert params["state"] == mark
    assert "access_token" not in response["Location"]

    grant = Grant.objects.get()
    assert grant.application == confidential
    assert grant.redirect_uri == REDIRECT_URI
    assert set(grant.scope.split()) == {"openid", "read"}
    assert grant.code_challenge == CHALLENGE
    assert grant.code_challenge_method == "S256"
    assert grant.nonce == mark + "n"
    assert json.loads(grant.claims) == json.loads(CLAIMS)
    assert grant.resource == [RESOURCE_1]

    token = exchange(client, params["code"])
    assert token.status_code == 200, token.content
    assert set(token.json()["scope"].split()) == {"openid", "read"}
    assert jwt_payload(token.json()["id_token"])["nonce"] == mark + "n"
    assert AccessToken.objects.get().resource == [RESOURCE_1]


def test_tampered_challenge_does_not_let_another_verifier_redeem_the_code(client, signed_in, confidential):
    uri = pushed_uri(client)
    params = code_from(consent(signed_in, authorize_url(uri), code_challenge=OTHER_CHALLENGE))
    assert exchange(client, params["code"], verifier=OTHER_VERIFIER).status_code == 400
    assert not AccessToken.objects.exists()


def test_extra_query_parameters_next_to_request_uri_are_ignored(client, browser, confidential, user):
    mark = marker()
    uri = pushed_uri(client, state=mark)
    url = authorize_url(uri, scope="write", redirect_uri=EVIL, state="x")

    login_location = assert_login_redirect(browser.get(url), uri)
    assert "evil" not in login_location and "write" not in login_location
    log_in_through_form(browser, login_location)

    # Signed in, the same dirty URL again: consent page and its POST (which keeps the query).
    params = code_from(consent(browser, url))
    assert params["state"] == mark
    assert Grant.objects.get().redirect_uri == REDIRECT_URI
    token = exchange(client, params["code"])
    assert token.status_code == 200
    assert token.json()["scope"] == "read"


# Re-validation at the authorization endpoint -----------------------------------------


def test_client_deleted_after_push(client, signed_in, confidential):
    uri = pushed_uri(client)
    confidential.delete()
    assert_error_page(signed_in.get(authorize_url(uri)))
    assert_error_page(blind_post(signed_in, authorize_url(uri)))


def test_redirect_uri_dropped_after_push(client, signed_in, confidential):
    uri = pushed_uri(client)
    Application.objects.filter(pk=confidential.pk).update(redirect_uris=OTHER_REDIRECT_URI)
    page = signed_in.get(authorize_url(uri))
    assert 400 <= page.status_code < 500
    assert not page.has_header("Location")
    assert 'id="authorizationForm"' not in page.content.decode()
    post = blind_post(signed_in, authorize_url(uri))
    assert 400 <= post.status_code < 500
    assert REDIRECT_URI not in post.get("Location", "")
    assert not Grant.objects.exists()


def test_redirect_uri_dropped_between_consent_page_and_post(client, signed_in, confidential):
    uri = pushed_uri(client)
    page = signed_in.get(authorize_url(uri))
    Application.objects.filter(pk=confidential.pk).update(redirect_uris=OTHER_REDIRECT_URI)
    post = signed_in.post(authorize_url(uri), {**consent_fields(page), "allow": "Authorize"})
    assert 400 <= post.status_code < 500
    assert not post.has_header("Location")
    assert not Grant.objects.exists()


# prompt ------------------------------------------------------------------------------


def test_prompt_login_for_a_signed_in_user_asks_once(client, signed_in, confidential):
    mark = marker()
    uri = pushed_uri(client, prompt="login", state=mark)
    login_location = assert_login_redirect(signed_in.get(authorize_url(uri)), uri)
    assert "prompt" not in login_location and mark not in login_location

    back = log_in_through_form(signed_in, login_location)
    page = signed_in.get(back["Location"])
    assert page.status_code == 200, page.get("Location")
    assert 'id="authorizationForm"' in page.content.decode()
    assert signed_in.get(back["Location"]).status_code == 200  # a reload does not ask again

    params = code_from(signed_in.post(back["Location"], {**consent_fields(page), "allow": "Authorize"}))
    assert params["state"] == mark


def test_prompt_login_for_an_anonymous_user_asks_once(client, browser, confidential, user):
    uri = pushed_uri(client, prompt="login", state="st-login")
    login_location = assert_login_redirect(browser.get(authorize_url(uri)), uri)
    back = log_in_through_form(browser, login_location)
    page = browser.get(back["Location"])
    assert page.status_code == 200, page.get("Location")
    params = code_from(browser.post(back["Location"], {**consent_fields(page), "allow": "Authorize"}))
    assert params["state"] == "st-login"


def test_prompt_login_is_not_satisfied_without_logging_in(client, signed_in, confidential):
    uri = pushed_uri(client, prompt="login")
    assert_login_redirect(signed_in.get(authorize_url(uri)), uri)
    # Coming back without logging in (same session) is sent to log in again.
    assert_login_redirect(signed_in.get(authorize_url(uri)), uri)
    assert not Grant.objects.exists()


@pytest.mark.parametrize("scope", ["read", "openid read"])
def test_prompt_none_for_an_anonymous_user(client, browser, confidential, scope):
    uri = pushed_uri(client, prompt="none", scope=scope, state="st-none")
    params = code_from(browser.get(authorize_url(uri)))
    assert params["error"] == "login_required"
    assert params["state"] == "st-none"
    assert "code" not in params
    assert_error_page(browser.get(authorize_url(uri)))


@pytest.mark.parametrize("scope", ["read", "openid read"])
def test_prompt_none_for_a_user_who_must_consent(client, signed_in, confidential, scope):
    uri = pushed_uri(client, prompt="none", scope=scope, state="st-none")
    response = signed_in.get(authorize_url(uri))
    params = code_from(response)
    assert params["error"] == "consent_required"
    assert params["state"] == "st-none"
    assert "code" not in params
    assert not Grant.objects.exists()
    assert_error_page(signed_in.get(authorize_url(uri)))


def test_prompt_none_for_a_user_who_needs_no_consent(client, signed_in, skip_client):
    response = push(client, auth_params(client_id="skip-client", prompt="none"), client_id="skip-client")
    uri = response.json()["request_uri"]
    params = code_from(signed_in.get(authorize_url(uri, client_id="skip-client")))
    assert "code" in params and "error" not in params


# Codes issued on the GET ------------------------------------------------------------


def test_skip_authorization_issues_the_code_on_get(client, signed_in, skip_client):
    response = push(client, auth_params(client_id="skip-client", state="st-skip"), client_id="skip-client")
    uri = response.json()["request_uri"]
    params = code_from(signed_in.get(authorize_url(uri, client_id="skip-client")))
    assert params["state"] == "st-skip"
    assert Grant.objects.get().application == skip_client
    assert PushedRequest.objects.get().redeemed_at is not None
    assert_error_page(signed_in.get(authorize_url(uri, client_id="skip-client")))
    assert Grant.objects.count() == 1
    assert exchange(client, params["code"], client_id="skip-client").status_code == 200


def test_approval_prompt_auto_with_an_existing_token(client, signed_in, confidential, user):
    AccessToken.objects.create(
        user=user,
        application=confidential,
        token="existing-token-" + secrets.token_hex(8),
        expires=timezone.now() + timedelta(hours=1),
        scope="read write",
    )
    uri = pushed_uri(client, approval_prompt="auto", state="st-auto")
    params = code_from(signed_in.get(authorize_url(uri)))
    assert params["state"] == "st-auto"
    assert Grant.objects.count() == 1
    assert_error_page(signed_in.get(authorize_url(uri)))


def test_approval_prompt_auto_without_a_token_shows_consent(client, signed_in, confidential):
    uri = pushed_uri(client, approval_prompt="auto")
    assert signed_in.get(authorize_url(uri)).status_code == 200
    assert not Grant.objects.exists()


def test_response_mode_fragment(client, signed_in, confidential):
    uri = pushed_uri(client, response_mode="fragment", state="st-frag")
    response = consent(signed_in, authorize_url(uri))
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    fragment = parse_qs(location.fragment)
    assert "code" in fragment and fragment["state"] == ["st-frag"]
    assert "code" not in parse_qs(location.query)


def test_oidc_nonce_reaches_the_id_token(client, signed_in, confidential):
    mark = marker()
    uri = pushed_uri(client, scope="openid profile", nonce=mark)
    params = code_from(consent(signed_in, authorize_url(uri)))
    token = exchange(client, params["code"])
    assert token.status_code == 200, token.content
    claims = jwt_payload(token.json()["id_token"])
    assert claims["nonce"] == mark
    assert claims["aud"] == "conf-client"


def test_repeated_resource_values_reach_grant_and_token(client, signed_in, confidential):
    response = push(client, [*auth_params().items(), ("resource", RESOURCE_1), ("resource", RESOURCE_2)])
    assert response.status_code == 201, response.content
    uri = response.json()["request_uri"]
    params = code_from(consent(signed_in, authorize_url(uri)))
    assert Grant.objects.get().resource == [RESOURCE_1, RESOURCE_2]
    token = exchange(client, params["code"])
    assert token.status_code == 200, token.content
    assert AccessToken.objects.get().resource == [RESOURCE_1, RESOURCE_2]


def test_defaults_fill_in_what_the_push_left_out(client, signed_in, db):
    """No redirect_uri (one is registered) and no scope (DOT's default): the consent POST
    takes both from the server's own defaults, as a classic request would."""
    app = make_client("single-uri-client")
    app.redirect_uris = REDIRECT_URI
    app.save()
    params = auth_params(client_id="single-uri-client", redirect_uri=None, scope=None)
    response = push(client, params, client_id="single-uri-client")
    assert response.status_code == 201, response.content
    url = authorize_url(response.json()["request_uri"], client_id="single-uri-client")
    code = code_from(consent(signed_in, url, scope="write", redirect_uri="https://evil.example/"))["code"]
    tokens = exchange(client, code, client_id="single-uri-client")
    assert tokens.status_code == 200, tokens.content
    assert tokens.json()["scope"] == "read"  # DEFAULT_SCOPES of the example settings


# A POST gets no further than its GET --------------------------------------------------


def test_prompt_login_cannot_be_skipped_by_posting_the_approval(client, signed_in, confidential):
    uri = pushed_uri(client, prompt="login")
    login_location = assert_login_redirect(blind_post(signed_in, authorize_url(uri)), uri)
    # Having been sent to log in, but not having done it, still gets no code.
    assert_login_redirect(blind_post(signed_in, authorize_url(uri)), uri)
    assert not Grant.objects.exists()
    assert PushedRequest.objects.get().redeemed_at is None

    back = log_in_through_form(signed_in, login_location)
    params = code_from(blind_post(signed_in, back["Location"]))
    assert "code" in params


@pytest.mark.parametrize("scope", ["read", "openid read"])
def test_prompt_none_posted_gets_what_the_get_gives(client, signed_in, confidential, scope):
    uri = pushed_uri(client, prompt="none", scope=scope, state="st-none")
    response = blind_post(signed_in, authorize_url(uri))
    params = code_from(response)
    assert params == {"error": "consent_required", "state": "st-none", "iss": "http://testserver/o"}
    assert not Grant.objects.exists()
    assert PushedRequest.objects.get().outcome == "consent_required"


def test_prompt_none_posted_for_a_client_that_needs_no_consent(client, signed_in, db):
    make_client("skip-client", skip_authorization=True)
    body = auth_params(client_id="skip-client", prompt="none", scope="openid read")
    uri = push(client, body, client_id="skip-client").json()["request_uri"]
    assert "code" in code_from(blind_post(signed_in, authorize_url(uri, client_id="skip-client")))


@pytest.mark.parametrize("prompt", ["none", "login"])
def test_prompts_hold_for_an_anonymous_post(client, browser, confidential, prompt):
    uri = pushed_uri(client, prompt=prompt)
    response = browser.post(authorize_url(uri), {"allow": "Authorize"})
    # CSRF refuses a cookieless POST; with a token, the anonymous user is sent to log in or told so.
    assert response.status_code == 403
    response = blind_post(browser, authorize_url(uri))
    if prompt == "none":
        assert code_from(response)["error"] == "login_required"
    else:
        assert_login_redirect(response, uri)
    assert not Grant.objects.exists()


def test_head_is_handled_as_get(client, signed_in, confidential, db):
    uri = pushed_uri(client)
    head = signed_in.head(authorize_url(uri))
    assert head.status_code == 200 and head.content == b""
    assert PushedRequest.objects.get().redeemed_at is None  # showing the page redeems nothing

    make_client("skip-client", skip_authorization=True)
    uri = push(client, auth_params(client_id="skip-client"), client_id="skip-client").json()["request_uri"]
    # Where a GET issues the code at once (skip_authorization), so does HEAD, exactly once.
    assert "code" in code_from(signed_in.head(authorize_url(uri, client_id="skip-client")))
    assert_error_page(signed_in.head(authorize_url(uri, client_id="skip-client")))


def test_every_answer_to_a_pushed_request_is_no_store(client, browser, confidential, user):
    uri = pushed_uri(client)
    login = browser.get(authorize_url(uri))
    assert login.status_code == 302 and "no-store" in login["Cache-Control"]
    browser.force_login(user)
    page = browser.get(authorize_url(uri))
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    done = browser.post(authorize_url(uri), {**consent_fields(page), "allow": "Authorize"})
    assert "no-store" in done["Cache-Control"]


def test_outcome_is_the_error_actually_sent_after_consent(client, signed_in, confidential):
    uri = pushed_uri(client, scope="read write")
    page = signed_in.get(authorize_url(uri))
    fields = consent_fields(page)
    # The site narrows its scopes between the consent page and the decision.
    with override_settings(OAUTH2_PROVIDER={"SCOPES": {"read": "Reading"}, "PKCE_REQUIRED": True}):
        response = signed_in.post(authorize_url(uri), {**fields, "allow": "Authorize"})
    assert code_from(response)["error"] == "invalid_scope"
    assert PushedRequest.objects.get().outcome == "invalid_scope"
    assert not Grant.objects.exists()


def test_a_redirect_uri_that_carries_error_is_not_taken_for_the_outcome(client, signed_in, db):
    registered = REDIRECT_URI + "?error=" + "x" * 90
    make_client("odd-client", redirect_uris=registered)
    body = auth_params(client_id="odd-client", redirect_uri=registered)
    uri = push(client, body, client_id="odd-client").json()["request_uri"]
    response = consent(signed_in, authorize_url(uri, client_id="odd-client"))
    assert response.status_code == 302 and "code=" in response["Location"]
    assert PushedRequest.objects.get().outcome == "code"


@pytest.mark.parametrize(
    ("location", "registered", "outcome"),
    [
        ("https://rp/cb?code=1&state=s", "https://rp/cb", "code"),
        ("https://rp/cb?error=access_denied", "https://rp/cb", "access_denied"),
        ("https://rp/cb?error=x&code=1", "https://rp/cb?error=x", "code"),
        ("https://rp/cb?error=x&error=invalid_scope", "https://rp/cb?error=x", "invalid_scope"),
        ("https://rp/cb?error=x&error=x", "https://rp/cb?error=x", "x"),
        ("https://rp/cb#error=login_required", "https://rp/cb", "login_required"),
        ("https://rp/cb?error=a#code=1", "https://rp/cb?error=a", "code"),
    ],
)
def test_authorization_outcome_counts_only_what_the_server_added(location, registered, outcome):
    assert authorization_outcome(location, registered) == outcome


def test_anonymous_user_is_sent_to_log_in_with_the_reference_only(client, browser, confidential):
    uri = pushed_uri(client, state="mark-anon", login_hint="mark-hint")
    location = assert_login_redirect(browser.get(authorize_url(uri)), uri)
    assert "mark-" not in location


def test_an_outcome_longer_than_its_column_is_stored_cut_on_every_database(client, signed_in, confidential):
    from django_oauth_par.redemption import record_outcome

    uri = pushed_uri(client)
    consent(signed_in, authorize_url(uri), allow=False)
    pushed = PushedRequest.objects.get()
    record_outcome(pushed, "site_specific_error_" + "x" * 100)
    assert PushedRequest.objects.get().outcome == ("site_specific_error_" + "x" * 100)[:64]
