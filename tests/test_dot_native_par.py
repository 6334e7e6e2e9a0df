"""The same black-box attacks against django-oauth-toolkit's own PAR and against this app.

``nox -s compare`` runs this file twice on DOT's development wheel: with
``tests.dot_only_settings`` (this app absent, DOT's ``PAR_ENABLED=True``) and with
``tests.settings`` (this app, DOT's PAR off). Each test sends the same requests to
``/o/par/``, ``/o/authorize/`` and ``/o/token/`` and asserts what the implementation
under test answers, from ``EXPECTED``: a row of the README's table "DOT's own PAR or
this app?" is a test here, and its two cells are the two runs' assertions.

Only HTTP is used to attack; the database is read only to count what was issued.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client, override_settings
from oauth2_provider.models import get_grant_model

from .helpers import (
    OTHER_REDIRECT_URI,
    REDIRECT_URI,
    SECRET,
    TOKEN_URL,
    VERIFIER,
    auth_params,
    authorize_url,
    basic,
    concurrently,
    push,
)

pytestmark = pytest.mark.dotnext

OURS = apps.is_installed("django_oauth_par")
IMPLEMENTATION = "ours" if OURS else "dot"

#: What each implementation answers; one entry per row of the README's comparison table.
EXPECTED: dict[str, dict[str, Any]] = {
    "consent_scope": {"dot": "read write", "ours": "read"},
    "consent_redirect_uri": {"dot": OTHER_REDIRECT_URI, "ours": REDIRECT_URI},
    "consent_state": {"dot": "tampered-state", "ours": "state-123"},
    "consent_code_challenge": {"dot": "attacker's verifier accepted", "ours": "attacker's verifier refused"},
    "racing_consents": {"dot": 8, "ours": 1},
    "reload": {"dot": 400, "ours": 200},
    "prompt_login_next": {"dot": "pushed values in the login URL", "ours": "client_id and request_uri only"},
    "prompt_none_push": {"dot": 500, "ours": 201},
    "par_required_hand_made_post": {"dot": "code issued", "ours": "refused"},
    "nul_in_pushed_value": {
        "dot": {"sqlite": 201, "postgresql": 500},
        "ours": {"sqlite": 400, "postgresql": 400},
    },
    "oidc_discovery": {"dot": False, "ours": True},
    "one_mib_push": {"dot": 201, "ours": 413},
    "basic_client_401_challenge": {"dot": "Bearer", "ours": "Basic"},
}


def expected(row: str) -> Any:
    return EXPECTED[row][IMPLEMENTATION]


@pytest.fixture
def client() -> Client:
    """A client that sees a server error as the 500 a browser would get."""
    return Client(raise_request_exception=False)


# --- a browser's steps ----------------------------------------------------------------------------

HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the consent page (DOT's stock template) and the CSRF token."""
    fields = {}
    for tag in HIDDEN.findall(html):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "").replace("&amp;", "&")
    assert "csrfmiddlewaretoken" in fields, html
    return fields


def signed_in(user: Any) -> Client:
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    return browser


def pushed(http: Client, **overrides: str) -> str:
    response = push(http, auth_params(**overrides))
    assert response.status_code == 201, response.content
    return str(response.json()["request_uri"])


def consent_page(browser: Client, url: str) -> dict[str, str]:
    page = browser.get(url)
    assert page.status_code == 200, page.content[:500]
    return form_fields(page.content.decode())


def redirect_query(response: Any) -> tuple[str, dict[str, str]]:
    assert response.status_code == 302, response.content[:500]
    parsed = urlparse(response["Location"])
    query = {key: values[0] for key, values in parse_qs(parsed.query).items()}
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path}", query


def exchange(http: Client, code: str, redirect_uri: str, verifier: str = VERIFIER) -> Any:
    return http.post(
        TOKEN_URL,
        urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        ),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
    )


def tampered_consent(client: Client, user: Any, **changes: str) -> tuple[str, dict[str, str]]:
    """Push, show the consent page, and POST it back with ``changes`` to its hidden fields."""
    url = authorize_url(pushed(client))
    browser = signed_in(user)
    fields = consent_page(browser, url)
    fields.update(changes, allow="Authorize")
    return redirect_query(browser.post(url, fields))


# --- the attacks ------------------------------------------------------------------------------------


def test_consent_post_changes_scope(client, confidential, user):
    target, query = tampered_consent(client, user, scope="read write")
    token = exchange(client, query["code"], target)
    assert token.status_code == 200, token.content
    assert token.json()["scope"] == expected("consent_scope")


def test_consent_post_changes_redirect_uri(client, confidential, user):
    target, query = tampered_consent(client, user, redirect_uri=OTHER_REDIRECT_URI)
    assert "code" in query
    assert target == expected("consent_redirect_uri")


def test_consent_post_changes_state(client, confidential, user):
    _target, query = tampered_consent(client, user, state="tampered-state")
    assert query["state"] == expected("consent_state")


def test_consent_post_changes_code_challenge(client, confidential, user):
    attacker_verifier = "a" * 64
    attacker_challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(attacker_verifier.encode()).digest()).rstrip(b"=").decode()
    )
    target, query = tampered_consent(client, user, code_challenge=attacker_challenge)
    token = exchange(client, query["code"], target, verifier=attacker_verifier)
    outcome = "attacker's verifier accepted" if token.status_code == 200 else "attacker's verifier refused"
    assert outcome == expected("consent_code_challenge")


@pytest.mark.django_db(transaction=True)
def test_racing_consent_posts(user):
    from .helpers import make_client

    make_client("conf-client")
    url = authorize_url(pushed(Client()))
    browser = signed_in(user)
    fields = {**consent_page(browser, url), "allow": "Authorize"}

    def consent(copy: Client) -> tuple[int, str]:
        copy.cookies = browser.cookies
        response = copy.post(url, fields)
        return response.status_code, response.get("Location", "")

    statuses = concurrently(8, consent)
    codes = [location for status, location in statuses if status == 302 and "code=" in location]
    assert all(status < 500 for status, _location in statuses), statuses
    assert len(codes) == expected("racing_consents"), statuses
    assert get_grant_model().objects.count() == expected("racing_consents")


def test_reload_of_the_consent_page(client, confidential, user):
    url = authorize_url(pushed(client))
    browser = signed_in(user)
    assert browser.get(url).status_code == 200
    assert browser.get(url).status_code == expected("reload")


def test_pushed_prompt_login_and_the_login_url(client, confidential, user):
    url = authorize_url(pushed(client, prompt="login", state="pushed-state-value"))
    response = signed_in(user).get(url)
    assert response.status_code == 302, response.content[:500]
    next_url = parse_qs(urlparse(response["Location"]).query)["next"][0]
    assert "client_id" in parse_qs(urlparse(next_url).query)
    leaks = "pushed-state-value" in next_url or "code_challenge" in next_url
    outcome = "pushed values in the login URL" if leaks else "client_id and request_uri only"
    assert outcome == expected("prompt_login_next")


def test_pushed_prompt_none(client, confidential, user):
    response = push(client, auth_params(prompt="none", scope="openid"))
    assert response.status_code == expected("prompt_none_push"), response.content
    if response.status_code == 201:
        # Nobody is signed in: the answer goes back to the client, never to a login page.
        answer = Client().get(authorize_url(response.json()["request_uri"]))
        _target, query = redirect_query(answer)
        assert query["error"] == "login_required"


def test_par_required_and_a_hand_made_consent_post(client, confidential, user):
    required = {"OAUTH2_PAR": {"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True}}
    if not OURS:
        from django.conf import settings

        required = {
            "OAUTH2_PROVIDER": {**settings.OAUTH2_PROVIDER, "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True}
        }
    browser = signed_in(user)
    csrf = consent_page(browser, authorize_url(pushed(client)))["csrfmiddlewaretoken"]
    with override_settings(**required):
        # The classic GET is refused by both...
        assert browser.get("/o/authorize/?" + urlencode(auth_params())).status_code == 400
        # ...and a consent form posted by hand, without any request_uri:
        response = browser.post(
            "/o/authorize/?" + urlencode({"client_id": "conf-client"}),
            {**auth_params(), "csrfmiddlewaretoken": csrf, "allow": "Authorize"},
        )
    outcome = "code issued" if response.status_code == 302 and "code=" in response["Location"] else "refused"
    assert outcome == expected("par_required_hand_made_post"), (response.status_code, response.content[:300])


def test_nul_character_in_a_pushed_value(client, confidential):
    response = push(client, auth_params(state="before\x00after"))
    assert response.status_code == expected("nul_in_pushed_value")[connection.vendor]


def test_openid_connect_discovery_names_the_push_endpoint(client, db):
    document = client.get("/o/.well-known/openid-configuration").json()
    assert ("pushed_authorization_request_endpoint" in document) is expected("oidc_discovery")


def test_one_mib_push(client, confidential):
    response = push(client, auth_params(state="s" * (1 << 20)))
    assert response.status_code == expected("one_mib_push")


def test_401_challenge_to_a_client_using_basic(client, confidential):
    response = push(client, auth_params(), secret="wrong-secret")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].split()[0] == expected("basic_client_401_challenge")
