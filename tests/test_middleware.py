"""PAR required (PAR-SPEC §3): the middleware refuses what a client must push, however it is sent.

Per client (set in the admin) and server-wide, before login and for hand-made POSTs. DOT's
consent form strips whitespace around ``client_id``; oauthlib and our lookups read it as sent.
Every spelling that some reader would take for another value is refused, by GET, HEAD and
POST, in the query and in the body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from oauth2_provider.models import get_grant_model

from django_oauth_par.middleware import well_formed_client_id
from django_oauth_par.models import ClientPolicy

from .helpers import (
    AUTHORIZE_URL,
    CHALLENGE,
    OTHER_REDIRECT_URI,
    REDIRECT_URI,
    assert_error_page,
    authorize_url,
    classic_url,
    code_from,
    consent,
    csrf_for,
    page_forms,
    pushed_uri,
)

Grant = get_grant_model()

PADDINGS = [" {}", "{} ", "\t{}", "{}\n", "\u00a0{}", "{}\u2003", "\u3000{}\u3000", "{}\r"]


def form(browser, client_id: str) -> dict[str, str]:
    return {
        "csrfmiddlewaretoken": csrf_for(browser),
        "allow": "Authorize",
        "redirect_uri": REDIRECT_URI,
        "scope": "read",
        "client_id": client_id,
        "state": "padded",
        "response_type": "code",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }


@pytest.fixture
def par_required(confidential):
    return ClientPolicy.objects.create(application=confidential, require_pushed_authorization_requests=True)


@pytest.mark.parametrize("padding", PADDINGS)
def test_padded_client_id_cannot_dodge_par_required(signed_in, par_required, other_client, padding):
    padded = padding.format("conf-client")
    # In the query, by GET and HEAD.
    assert_error_page(signed_in.get(classic_url(client_id=padded)), "invalid_request")
    assert signed_in.head(classic_url(client_id=padded)).status_code == 400
    # In the body of a hand-made POST, with no query, with the client's own query, and behind
    # another client's query.
    assert_error_page(signed_in.post(AUTHORIZE_URL, form(signed_in, padded)), "invalid_request")
    assert_error_page(
        signed_in.post(classic_url(client_id="conf-client"), form(signed_in, padded)), "invalid_request"
    )
    assert_error_page(
        signed_in.post(classic_url(client_id="other-client"), form(signed_in, padded)), "invalid_request"
    )
    assert not Grant.objects.exists()


def test_a_clean_client_id_of_another_client_in_the_query_does_not_hide_the_body(
    signed_in, par_required, other_client
):
    response = signed_in.post(classic_url(client_id="other-client"), form(signed_in, "conf-client"))
    assert_error_page(response, "invalid_request")
    assert not Grant.objects.exists()


@pytest.mark.parametrize("padding", PADDINGS)
def test_padded_client_id_with_a_reference_is_unknown(client, signed_in, confidential, padding):
    uri = pushed_uri(client)
    assert_error_page(signed_in.get(authorize_url(uri, client_id=padding.format("conf-client"))))
    # The reference is untouched and still works for its own client.
    assert "code" in code_from(consent(signed_in, authorize_url(uri)))


def test_clients_that_need_no_par_keep_working_classically(signed_in, other_client):
    response = consent(signed_in, classic_url(client_id="other-client", state="classic"))
    assert code_from(response)["state"] == "classic"


@pytest.mark.parametrize(
    ("client_id", "ok"),
    [
        ("conf-client", True),
        ("a b", True),
        (" a", False),
        ("a ", False),
        ("a\x00", False),
        ("\u00a0a", False),
    ],
)
def test_well_formed_client_id(client_id, ok):
    assert well_formed_client_id(client_id) is ok


def test_a_query_with_only_padding_in_client_id_is_refused_before_dot_sees_it(signed_in, db):
    url = AUTHORIZE_URL + "?" + urlencode({"client_id": " ", "response_type": "code"})
    assert_error_page(signed_in.get(url), "invalid_request")


# PAR required, per client and server-wide -----------------------------------------------


@pytest.fixture
def superuser(db: Any) -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", "root-password")


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
