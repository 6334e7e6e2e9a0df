"""Rich Authorization Requests (RFC 9396, PAR-SPEC §9): pushed, shown, approved, carried to the tokens.

The example project registers ``payment_initiation`` with a validator, and the tests register
``mailbox`` (no validator, no template of its own) where they need a second type.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from django_oauth_par.authorization_details import MAX_DEPTH, MAX_DETAILS, template_name
from django_oauth_par.checks import check_settings
from django_oauth_par.models import ClientPolicy, GrantedAuthorization, PushedRequest
from example_project.demo.payments import EXAMPLE

from .helpers import (
    SECRET,
    TOKEN_URL,
    auth_params,
    authorize_url,
    basic,
    classic_url,
    code_from,
    consent,
    exchange,
    form_post,
    push,
)

PAYMENT = json.dumps([EXAMPLE])
TYPES = {
    "payment_initiation": "example_project.demo.payments.validate_payment",
    "mailbox": None,
}
INTROSPECT_URL = "/o/introspect/"


@pytest.fixture(autouse=True)
def two_types(settings: Any) -> None:
    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUTHORIZATION_DETAILS_TYPES": TYPES}


@pytest.fixture
def browser(user: Any) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def push_details(client: Client, details: Any, **overrides: str) -> Any:
    text = details if isinstance(details, str) else json.dumps(details)
    return push(client, auth_params(authorization_details=text, **overrides))


def refused(response: Any) -> str:
    """Asserts ``response`` is RFC 9396 §5's error and nothing was stored; returns the description."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_authorization_details", body
    assert PushedRequest.objects.count() == 0
    return str(body["error_description"])


def login(client: Client, browser: Client, details: Any = None, **overrides: str) -> dict[str, Any]:
    """Push (with ``details``), approve on the consent page, exchange the code; the token response."""
    if details is None:
        response = push(client, auth_params(**overrides))
    else:
        response = push_details(client, details, **overrides)
    assert response.status_code == 201, response.content
    code = code_from(consent(browser, authorize_url(response.json()["request_uri"])))["code"]
    tokens = exchange(client, code)
    assert tokens.status_code == 200, tokens.content
    return dict(tokens.json())


def refresh(client: Client, refresh_token: str) -> Any:
    return form_post(
        client,
        TOKEN_URL,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
    )


# Accepted at push -----------------------------------------------------------------------


def test_rfc_9396_payment_example_is_accepted_and_stored_as_pushed(client, confidential):
    response = push_details(client, [EXAMPLE])
    assert response.status_code == 201, response.content
    stored = dict(PushedRequest.objects.get().parameter_pairs)
    assert json.loads(stored["authorization_details"]) == [EXAMPLE]


def test_several_entries_and_types_are_accepted(client, confidential):
    mailbox = {"type": "mailbox", "locations": ["https://mail.example/"], "identifier": "thread-42"}
    assert push_details(client, [EXAMPLE, mailbox]).status_code == 201


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "{",
        '{"type": "payment_initiation"}',  # an object, not an array
        "[]",
        '"payment_initiation"',
        "[1]",
        '[["type", "mailbox"]]',
        "[{}]",
        '[{"type": 7}]',
        '[{"type": ""}]',
        '[{"type": null}]',
        '[{"type": "mailbox", "type": "payment_initiation"}]',  # repeated key: which one is shown?
        '[{"type": "mailbox", "locations": "https://mail.example/"}]',
        '[{"type": "mailbox", "actions": ["read", 1]}]',
        '[{"type": "mailbox", "identifier": ["a"]}]',
        '[{"type": "mailbox", "x": NaN}]',
        '[{"type": "mailbox", "x": Infinity}]',
        '[{"type": "mailbox", "x": "nul \\u0000 inside"}]',
        '[{"type": "mailbox", "x\\u0000": 1}]',
        '[{"type": "mailbox", "x": "lone \\ud800 surrogate"}]',
        '[{"type": "mailbox", "nested": {"a": {"b": {"c": "\\udfff"}}}}]',
        '[{"type": "unknown_type"}]',
    ],
)
def test_malformed_or_unknown_details_are_refused(client, confidential, text):
    description = refused(push_details(client, text))
    assert "unknown_type" not in description  # pushed values are never echoed


def test_nesting_beyond_the_limit_is_refused(client, confidential):
    deep: Any = "bottom"
    for _ in range(MAX_DEPTH):
        deep = {"d": deep}
    refused(push_details(client, [{"type": "mailbox", "deep": deep}]))
    shallow: Any = "bottom"
    for _ in range(MAX_DEPTH - 2):
        shallow = {"d": shallow}
    assert push_details(client, [{"type": "mailbox", "deep": shallow}]).status_code == 201


def test_deep_nesting_that_would_exhaust_the_parser_is_refused(client, confidential):
    refused(push_details(client, "[" * 5000 + "]" * 5000))


def test_too_many_entries_are_refused(client, confidential):
    refused(push_details(client, [{"type": "mailbox"}] * (MAX_DETAILS + 1)))
    assert push_details(client, [{"type": "mailbox"}] * MAX_DETAILS).status_code == 201


def test_oversized_details_are_refused_by_the_value_limit(client, confidential):
    response = push_details(client, [{"type": "mailbox", "padding": "x" * 20000}])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert PushedRequest.objects.count() == 0


def test_the_validator_refuses_a_payment_without_an_amount(client, confidential):
    payment = copy.deepcopy(EXAMPLE)
    del payment["instructedAmount"]["amount"]
    description = refused(push_details(client, [payment]))
    assert "amount" in description
    assert description.startswith("Entry 1 of authorization_details")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("instructedAmount",), None),
        (("instructedAmount", "amount"), "-5"),
        (("instructedAmount", "amount"), "lots"),
        (("instructedAmount", "currency"), "euro"),
        (("creditorName",), ""),
        (("creditorAccount", "iban"), "not an iban"),
    ],
)
def test_the_validator_refuses_bad_payments(client, confidential, path, value):
    payment = copy.deepcopy(EXAMPLE)
    target = payment
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    refused(push_details(client, [payment]))


def test_second_entry_is_validated_too(client, confidential):
    payment = copy.deepcopy(EXAMPLE)
    del payment["instructedAmount"]
    assert refused(push_details(client, [{"type": "mailbox"}, payment])).startswith("Entry 2")


def test_a_client_restricted_by_staff_may_request_only_its_types(client, confidential):
    ClientPolicy.objects.create(
        application=confidential,
        restrict_authorization_details_types=True,
        authorization_details_types=["mailbox"],
    )
    refused(push_details(client, [EXAMPLE]))
    assert push_details(client, [{"type": "mailbox"}]).status_code == 201


def test_an_unrestricted_policy_allows_every_registered_type(client, confidential):
    ClientPolicy.objects.create(application=confidential, authorization_details_types=["mailbox"])
    assert push_details(client, [EXAMPLE]).status_code == 201


def test_a_restriction_to_a_type_no_longer_registered_allows_nothing(client, confidential):
    ClientPolicy.objects.create(
        application=confidential,
        restrict_authorization_details_types=True,
        authorization_details_types=["retired_type"],
    )
    refused(push_details(client, [{"type": "retired_type"}]))
    refused(push_details(client, [{"type": "mailbox"}]))


def test_no_registered_types_refuses_every_detail(client, confidential, settings):
    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUTHORIZATION_DETAILS_TYPES": {}}
    refused(push_details(client, [EXAMPLE]))


@pytest.mark.parametrize(
    "value",
    [
        ["payment_initiation"],
        {"payment_initiation": 3},
        {"": None},
        {"payment_initiation": "example_project.demo.payments.no_such_function"},
        {"payment_initiation": "example_project.demo.payments.EXAMPLE"},  # not callable
    ],
)
def test_an_unusable_types_setting_is_reported_and_stops_the_site(client, confidential, settings, value):
    from django.core.exceptions import ImproperlyConfigured

    from django_oauth_par.conf import par_settings

    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUTHORIZATION_DETAILS_TYPES": value}
    assert "oauth_par.E004" in [message.id for message in check_settings()]
    # Never read as "no validator": the value is refused wherever it is read.
    with pytest.raises(ImproperlyConfigured):
        par_settings.AUTHORIZATION_DETAILS_TYPES  # noqa: B018


def test_details_are_checked_after_client_authentication(client, confidential):
    response = push(client, auth_params(authorization_details="not json"), secret="wrong")
    assert response.status_code == 401


# Metadata ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/.well-known/oauth-authorization-server/o", "/o/.well-known/openid-configuration"]
)
def test_metadata_lists_the_supported_types(client, db, settings, url):
    assert client.get(url).json()["authorization_details_types_supported"] == [
        "mailbox",
        "payment_initiation",
    ]
    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUTHORIZATION_DETAILS_TYPES": {}}
    assert "authorization_details_types_supported" not in client.get(url).json()


# Shown at consent ---------------------------------------------------------------------------


def test_the_consent_page_shows_the_payment_with_its_template(client, browser, confidential):
    uri = push_details(client, [EXAMPLE]).json()["request_uri"]
    page = browser.get(authorize_url(uri)).content.decode()
    assert "Pay <strong>" not in page  # the type's template, not the generic one
    assert "Pay 123.50 EUR" in page
    assert "Merchant A" in page
    assert "DE02100100109307118603" in page
    assert 'id="authorizationForm"' in page  # DOT's form is still there


def test_the_generic_fallback_escapes_and_indents(client, browser, confidential):
    detail = {
        "type": "mailbox",
        "locations": ["https://mail.example/"],
        "ownerName": "<script>alert(1)</script>",
        "limits": {"maxMessages": 10, "folders": {"inbox": True}},
    }
    uri = push_details(client, [detail]).json()["request_uri"]
    page = browser.get(authorize_url(uri)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Owner name" in page
    # Nested objects are lists inside list items.
    assert page.index("Limits") < page.index("Max messages") < page.index("Folders") < page.index("Inbox")
    assert page.count('<ul class="authorization-detail-fields">') == 3


def test_a_consent_page_without_details_is_unchanged(client, browser, confidential):
    uri = push(client, auth_params()).json()["request_uri"]
    assert "authorization-details" not in browser.get(authorize_url(uri)).content.decode()


@pytest.mark.parametrize("type_name", ["../../../etc/passwd", "a/b", "https://x.example/t.html", "a b"])
def test_no_type_makes_a_template_name_outside_its_directory(type_name):
    name = template_name(type_name)
    assert name.startswith("django_oauth_par/authorization_details/")
    assert "/" not in name.removeprefix("django_oauth_par/authorization_details/")
    assert ".." not in name


def test_the_consent_context_holds_the_parsed_details(client, confidential):
    from django_oauth_par.authorization_details import consent_context

    push_details(client, [EXAMPLE])
    context = consent_context(PushedRequest.objects.get())
    assert context["authorization_details"] == [EXAMPLE]
    assert len(context["authorization_details_rendered"]) == 1
    assert "Merchant A" in context["authorization_details_html"]


# Carried through ------------------------------------------------------------------------------


def test_the_token_response_carries_the_approved_details(client, browser, confidential):
    tokens = login(client, browser, [EXAMPLE])
    assert tokens["authorization_details"] == [EXAMPLE]


def test_a_token_without_details_is_unchanged(client, browser, confidential):
    tokens = login(client, browser)
    assert "authorization_details" not in tokens
    assert set(tokens) == {"access_token", "expires_in", "token_type", "scope", "refresh_token"}


def test_a_classic_request_never_binds_details(client, browser, confidential):
    """Details in a query string were validated by nobody and shown to nobody: they are ignored."""
    url = classic_url(authorization_details=PAYMENT)
    page = browser.get(url)
    assert "Merchant A" not in page.content.decode()
    code = code_from(consent(browser, url))["code"]
    tokens = exchange(client, code).json()
    assert "authorization_details" not in tokens
    assert not GrantedAuthorization.objects.exclude(authorization_details=None).exists()


def test_the_details_cannot_be_changed_after_the_push(client, browser, confidential):
    uri = push_details(client, [EXAMPLE]).json()["request_uri"]
    url = authorize_url(uri)
    forged = copy.deepcopy(EXAMPLE)
    forged["instructedAmount"]["amount"] = "99999.00"
    forged_text = json.dumps([forged])
    # Neither the query string nor the consent form can carry other details.
    tampered_url = url + "&authorization_details=" + forged_text
    page = browser.get(tampered_url)
    assert "99999" not in page.content.decode()
    code = code_from(consent(browser, tampered_url, authorization_details=forged_text))["code"]
    tokens = exchange(client, code).json()
    assert tokens["authorization_details"] == [EXAMPLE]


def test_refresh_keeps_the_details(client, browser, confidential):
    tokens = login(client, browser, [EXAMPLE])
    first = refresh(client, tokens["refresh_token"])
    assert first.status_code == 200, first.content
    assert first.json()["authorization_details"] == [EXAMPLE]
    second = refresh(client, first.json()["refresh_token"])
    assert second.json()["authorization_details"] == [EXAMPLE]


def test_refresh_without_rotation_keeps_the_details(client, browser, confidential, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ROTATE_REFRESH_TOKEN": False}
    tokens = login(client, browser, [EXAMPLE])
    again = refresh(client, tokens["refresh_token"])
    assert again.status_code == 200, again.content
    assert again.json()["authorization_details"] == [EXAMPLE]
    assert again.json()["access_token"] != tokens["access_token"]
    assert introspect(client, again.json()["access_token"])["authorization_details"] == [EXAMPLE]


def introspect(client: Client, token: str) -> dict[str, Any]:
    from oauth2_provider.models import get_access_token_model, get_application_model

    Application = get_application_model()  # noqa: N806
    resource_server, _ = Application.objects.get_or_create(
        client_id="resource-server",
        defaults={
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
            "client_secret": SECRET,
            "name": "resource server",
        },
    )
    from datetime import timedelta

    from django.utils import timezone

    bearer = get_access_token_model().objects.create(
        application=resource_server,
        token=f"introspection-{token[:8]}",
        scope="introspection",
        expires=timezone.now() + timedelta(hours=1),
    )
    response = form_post(
        client, INTROSPECT_URL, {"token": token}, HTTP_AUTHORIZATION=f"Bearer {bearer.token}"
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_introspection_returns_the_details(client, browser, confidential):
    tokens = login(client, browser, [EXAMPLE])
    answer = introspect(client, tokens["access_token"])
    assert answer["active"] is True
    assert answer["authorization_details"] == [EXAMPLE]


def test_introspection_of_a_token_without_details_is_unchanged(client, browser, confidential):
    tokens = login(client, browser)
    answer = introspect(client, tokens["access_token"])
    assert answer["active"] is True
    assert "authorization_details" not in answer


def test_introspection_of_a_revoked_token_says_only_inactive(client, browser, confidential):
    tokens = login(client, browser, [EXAMPLE])
    revoked = form_post(
        client,
        "/o/revoke_token/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
    )
    assert revoked.status_code == 200
    assert introspect(client, tokens["access_token"]) == {"active": False}


def test_a_dot_protected_view_reads_the_details(client, browser, confidential):
    tokens = login(client, browser, [EXAMPLE])
    answer = client.get("/api/payment/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert answer.status_code == 200
    assert answer.json() == {"authorization_details": [EXAMPLE]}
    assert client.get("/api/payment/").status_code == 403


@pytest.mark.urls("tests.drf_urls")
def test_a_drf_view_reads_the_details(client, browser, confidential):
    tokens = login(client, browser, [EXAMPLE])
    answer = client.get("/api/drf/payment/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"authorization_details": [EXAMPLE]}
    plain = login(client, browser)
    answer = client.get("/api/drf/payment/", HTTP_AUTHORIZATION=f"Bearer {plain['access_token']}")
    assert answer.json() == {"authorization_details": None}
    assert client.get("/api/drf/payment/").status_code in (401, 403)


def test_the_helper_reads_a_token_set_by_drf_or_dot_middleware(client, browser, confidential):
    from django.test import RequestFactory
    from oauth2_provider.models import get_access_token_model

    from django_oauth_par.granted import authorization_details

    tokens = login(client, browser, [EXAMPLE])
    token = get_access_token_model().objects.get()
    request = RequestFactory().get("/")
    request.auth = token  # type: ignore[attr-defined] - what DRF's OAuth2Authentication sets
    assert authorization_details(request) == [EXAMPLE]
    request = RequestFactory().get("/")
    request.access_token = token  # type: ignore[attr-defined] - DOT's OAuth2ExtraTokenMiddleware
    assert authorization_details(request) == [EXAMPLE]
    assert authorization_details(RequestFactory().get("/")) is None
    assert tokens["access_token"]


def test_a_denied_request_issues_nothing(client, browser, confidential):
    uri = push_details(client, [EXAMPLE]).json()["request_uri"]
    answer = code_from(consent(browser, authorize_url(uri), allow=False))
    assert answer["error"] == "access_denied"
    assert not GrantedAuthorization.objects.exists()


def test_the_cleanup_removes_rows_whose_tokens_are_gone(client, browser, confidential):
    tokens = login(client, browser, [EXAMPLE])
    form_post(
        client,
        "/o/revoke_token/",
        {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
    )
    from oauth2_provider.models import get_refresh_token_model

    get_refresh_token_model().objects.all().delete()
    call_command("clearpushedrequests", stdout=__import__("io").StringIO())
    assert not GrantedAuthorization.objects.exists()


def test_the_admin_form_offers_the_registered_types_only(confidential):
    from django_oauth_par.admin import ClientPolicyForm

    form = ClientPolicyForm(
        data={
            "require_pushed_authorization_requests": "",
            "restrict_authorization_details_types": "on",
            "authorization_details_types": ["mailbox"],
        },
        instance=ClientPolicy(application=confidential),
    )
    assert form.is_valid(), form.errors
    policy = form.save()
    assert (policy.restrict_authorization_details_types, policy.authorization_details_types) == (
        True,
        ["mailbox"],
    )
    unknown = ClientPolicyForm(
        data={"restrict_authorization_details_types": "on", "authorization_details_types": ["retired_type"]},
        instance=ClientPolicy(application=confidential),
    )
    assert not unknown.is_valid()
