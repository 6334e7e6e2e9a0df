"""The pushed request's consent decision: a POST gets no further than its GET would.

Attacks POST the approval straight to the endpoint (with a valid CSRF token, never having
been shown a consent page) and check that each pushed ``prompt`` holds, and that the
outcome recorded for the audit trail is the response actually sent.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from oauth2_provider.models import get_grant_model

from django_oauth_par.authorization import authorization_outcome
from django_oauth_par.models import PushedRequest

from .helpers import (
    REDIRECT_URI,
    assert_error_page,
    assert_login_redirect,
    auth_params,
    authorize_url,
    blind_post,
    code_from,
    consent,
    consent_fields,
    log_in_through_form,
    make_client,
    push,
    pushed_uri,
)

Grant = get_grant_model()


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
