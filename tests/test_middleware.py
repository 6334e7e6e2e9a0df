"""PAR required cannot be dodged by how a client_id is spelled (PAR-SPEC §3).

DOT's consent form strips whitespace around ``client_id``; oauthlib and our lookups read it
as sent. Every spelling that some reader would take for another value is refused, by GET,
HEAD and POST, in the query and in the body.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from oauth2_provider.models import get_grant_model

from django_oauth_par.middleware import well_formed_client_id
from django_oauth_par.models import ClientPolicy

from .helpers import (
    AUTHORIZE_URL,
    CHALLENGE,
    REDIRECT_URI,
    assert_error_page,
    authorize_url,
    classic_url,
    code_from,
    consent,
    csrf_for,
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
