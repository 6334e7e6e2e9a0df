"""Redeeming a ``request_uri`` at the authorization endpoint (PAR-SPEC §2 and §4, RFC 9126 §7.3).

Only a reference this server issued, to the client that presents it, not yet redeemed and not
expired, is honoured; any other gets an error page and redeems nothing. The response a
reference produces, approval or denial, redeems it, and it never answers again.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import override_settings
from oauth2_provider.models import get_grant_model

from django_oauth_par.models import REQUEST_URI_PREFIX, PushedRequest

from .helpers import (
    AUTHORIZE_URL,
    assert_error_page,
    assert_login_redirect,
    auth_params,
    authorize_url,
    blind_post,
    code_from,
    consent,
    consent_fields,
    expire,
    log_in_through_form,
    push,
    pushed_uri,
)

Grant = get_grant_model()


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
