"""The authorization endpoint with pushed requests, driven like a browser (PAR-SPEC §2 and §3).

A ``browser`` (a ``django.test.Client`` with CSRF checks on) goes through DOT's stock
templates and the example project's login form; the ``client`` fixture plays the
relying party's back channel (pushes and code exchanges).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model

from django_oauth_par.models import REQUEST_URI_PREFIX, ClientPolicy, PushedRequest

from .helpers import (
    AUTHORIZE_URL,
    CHALLENGE,
    OTHER_REDIRECT_URI,
    REDIRECT_URI,
    Application,
    assert_error_page,
    assert_login_redirect,
    auth_params,
    authorize_url,
    blind_post,
    classic_url,
    code_from,
    consent,
    consent_fields,
    csrf_for,
    exchange,
    expire,
    log_in_through_form,
    make_client,
    page_forms,
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


@pytest.fixture
def superuser(db: Any) -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", "root-password")


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


# Deny and replay ----------------------------------------------------------------------


def test_deny_redirects_access_denied_and_redeems(client, signed_in, confidential):
    uri = pushed_uri(client, state="deny-state")
    params = code_from(consent(signed_in, authorize_url(uri), allow=False))
    assert params["error"] == "access_denied"
    assert params["state"] == "deny-state"
    assert "code" not in params
    assert not Grant.objects.exists()
    assert PushedRequest.objects.get().redeemed_at is not None
    assert_error_page(signed_in.get(authorize_url(uri)))


def test_replay_after_completion_is_refused(client, signed_in, confidential):
    uri = pushed_uri(client)
    url = authorize_url(uri)
    page = signed_in.get(url)
    fields = {**consent_fields(page), "allow": "Authorize"}
    code_from(signed_in.post(url, fields))
    assert Grant.objects.count() == 1

    assert_error_page(signed_in.get(url), "invalid_request_uri")
    assert_error_page(signed_in.post(url, fields), "invalid_request_uri")
    assert Grant.objects.count() == 1


# References that must not be honoured ------------------------------------------------


class FetchRecorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        FetchRecorder.hits.append(self.path)
        body = b"eyJhbGciOiJub25lIn0.e30."
        self.send_response(200)
        self.send_header("Content-Type", "application/oauth-authz-req+jwt")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def request_object_server():
    FetchRecorder.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FetchRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/request.jwt"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("logged_in", [True, False], ids=["signed-in", "anonymous"])
def test_unusable_references_get_an_error_page(
    client, browser, user, confidential, other_client, request_object_server, logged_in
):
    if logged_in:
        browser.force_login(user)
    own = pushed_uri(client)
    push_other = push(client, auth_params(client_id="other-client"), client_id="other-client")
    assert push_other.status_code == 201
    foreign = push_other.json()["request_uri"]

    urls = [
        authorize_url(REQUEST_URI_PREFIX + secrets.token_urlsafe(32)),
        authorize_url(foreign),  # pushed by other-client, presented as conf-client
        authorize_url(own, client_id="other-client"),  # and the other way round
        AUTHORIZE_URL + "?" + urlencode({"request_uri": own}),
        authorize_url(own, client_id=""),
        authorize_url("https://evil.example/request.jwt"),
        authorize_url(request_object_server),
        authorize_url(own + secrets.token_urlsafe(8)),
        authorize_url(own[:-1]),
        authorize_url(own) + "&" + urlencode({"request_uri": own}),
    ]
    for url in urls:
        assert_error_page(browser.get(url))
        assert_error_page(blind_post(browser, url))
    assert FetchRecorder.hits == []
    assert not Grant.objects.exists()
    # None of this redeemed the real references.
    assert PushedRequest.objects.filter(redeemed_at__isnull=True).count() == 2
    assert browser.get(authorize_url(own)).status_code == (200 if logged_in else 302)


def test_pushed_value_for_another_client_cannot_be_swapped(client, signed_in, confidential, other_client):
    """The other client's reference, presented with its own client_id, stays the other client's."""
    response = push(client, auth_params(client_id="other-client", state="theirs"), client_id="other-client")
    foreign = response.json()["request_uri"]
    params = code_from(consent(signed_in, authorize_url(foreign, client_id="other-client")))
    assert params["state"] == "theirs"
    assert Grant.objects.get().application == other_client


# Expiry -------------------------------------------------------------------------------


def test_expired_reference_gets_an_error_page(client, signed_in, confidential):
    uri = pushed_uri(client)
    assert signed_in.get(authorize_url(uri)).status_code == 200
    expire()
    assert_error_page(signed_in.get(authorize_url(uri)), "invalid_request_uri")
    assert_error_page(blind_post(signed_in, authorize_url(uri)))
    assert not Grant.objects.exists()


def test_expiry_between_consent_page_and_post(client, signed_in, confidential):
    uri = pushed_uri(client)
    page = signed_in.get(authorize_url(uri))
    expire()
    response = signed_in.post(authorize_url(uri), {**consent_fields(page), "allow": "Authorize"})
    assert_error_page(response)
    assert not Grant.objects.exists()


def test_lifetime_setting_is_honoured(client, signed_in, confidential):
    with override_settings(OAUTH2_PAR={"REQUEST_URI_LIFETIME": 5}):
        response = push(client, auth_params())
    assert response.json()["expires_in"] == 5
    stored = PushedRequest.objects.get()
    assert stored.expires_at - stored.created_at == timedelta(seconds=5)
    PushedRequest.objects.update(
        created_at=stored.created_at - timedelta(seconds=6),
        expires_at=stored.expires_at - timedelta(seconds=6),
    )
    assert_error_page(signed_in.get(authorize_url(response.json()["request_uri"])))


def test_expiry_while_on_the_login_page_is_no_loop(client, browser, confidential, user):
    uri = pushed_uri(client)
    login_location = assert_login_redirect(browser.get(authorize_url(uri)), uri)
    page = browser.get(login_location)
    assert page.status_code == 200
    expire()
    back = log_in_through_form(browser, login_location)
    assert back["Location"] == authorize_url(uri)
    final = browser.get(back["Location"])
    assert_error_page(final, "invalid_request_uri")
    assert "expired" in final.content.decode()


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


# PAR required (PAR-SPEC §3) ----------------------------------------------------------


def hand_made_post(browser: Client, client_id: str = "conf-client", with_query: bool = True) -> Any:
    """A POST to the authorization endpoint with every AllowForm field, as an attacker would write it."""
    data = {
        "csrfmiddlewaretoken": csrf_for(browser),
        "allow": "Authorize",
        "redirect_uri": REDIRECT_URI,
        "scope": "read",
        "nonce": "",
        "client_id": client_id,
        "state": "hand-made",
        "response_type": "code",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "claims": "",
        "resource": "",
    }
    url = classic_url(client_id=client_id, state="hand-made") if with_query else AUTHORIZE_URL
    return browser.post(url, data)


def assert_refused_classically(browser: Client, client_id: str) -> None:
    grants = Grant.objects.count()
    assert_error_page(browser.get(classic_url(client_id=client_id)), "invalid_request")
    assert_error_page(hand_made_post(browser, client_id), "invalid_request")
    assert_error_page(hand_made_post(browser, client_id, with_query=False), "invalid_request")
    assert Grant.objects.count() == grants


def test_par_required_per_client(client, browser, user, confidential, other_client):
    ClientPolicy.objects.create(application=confidential, require_pushed_authorization_requests=True)

    assert_error_page(browser.get(classic_url()), "invalid_request")  # before login
    browser.force_login(user)
    assert_refused_classically(browser, "conf-client")
    assert not Grant.objects.exists()

    # A pushed request of the same client works.
    uri = pushed_uri(client, state="pushed")
    assert code_from(consent(browser, authorize_url(uri)))["state"] == "pushed"
    assert Grant.objects.count() == 1

    # Another client is not affected: classic GET + consent and a hand-made POST both work.
    url = classic_url(client_id="other-client", state="classic")
    assert code_from(consent(browser, url))["state"] == "classic"
    assert code_from(hand_made_post(browser, "other-client"))["state"] == "hand-made"
    assert Grant.objects.filter(application=other_client).count() == 2


def test_par_required_server_wide(client, browser, user, confidential, other_client):
    with override_settings(OAUTH2_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True}):
        for client_id in ("conf-client", "other-client", "no-such-client"):
            assert_error_page(browser.get(classic_url(client_id=client_id)), "invalid_request")
        assert_error_page(browser.get(AUTHORIZE_URL), "invalid_request")
        assert_error_page(browser.get(AUTHORIZE_URL + "?response_type=code"), "invalid_request")
        browser.force_login(user)
        for client_id in ("conf-client", "other-client"):
            assert_refused_classically(browser, client_id)
        assert not Grant.objects.exists()

        uri = pushed_uri(client, state="pushed")
        assert code_from(consent(browser, authorize_url(uri)))["state"] == "pushed"
    assert Grant.objects.count() == 1


def test_par_required_set_through_the_admin(client, browser, superuser, confidential):
    browser.force_login(superuser)
    # Before: the client may still use classic requests.
    assert browser.get(classic_url()).status_code == 200

    change_url = f"/admin/oauth2_provider/application/{confidential.pk}/change/"
    page = browser.get(change_url)
    assert page.status_code == 200
    forms = [form for form in page_forms(page) if form["attrs"].get("id") == "application_form"]
    assert len(forms) == 1
    form = forms[0]
    checkbox = "pushed_authorization_policy-0-require_pushed_authorization_requests"
    assert checkbox in form["names"]
    assert "pushed_authorization_policy-TOTAL_FORMS" in dict(form["fields"])
    data: dict[str, list[str]] = {}
    for name, value in form["fields"]:
        if name != checkbox:
            data.setdefault(name, []).append(value)
    data[checkbox] = ["on"]
    data["_save"] = ["Save"]
    response = browser.post(change_url, data)
    assert response.status_code == 302, response.content.decode()[:3000]

    assert ClientPolicy.objects.get(application=confidential).require_pushed_authorization_requests
    assert_error_page(browser.get(classic_url()), "invalid_request")
    # The admin saved the client unchanged: a pushed request still works.
    confidential.refresh_from_db()
    assert confidential.redirect_uris.split() == [REDIRECT_URI, OTHER_REDIRECT_URI]
    uri = pushed_uri(client, state="after-admin")
    assert code_from(consent(browser, authorize_url(uri)))["state"] == "after-admin"


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
