"""The audit chain: each pushed request's events stored as rows under a stable audit id, from the
push to its last token, with nothing secret in them; its admin timeline, export and retention."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from django_oauth_par import signals
from django_oauth_par.models import AuditChain, AuditEvent, PushedRequest
from example_project.demo.payments import EXAMPLE

from .helpers import (
    SECRET,
    TOKEN_URL,
    auth_params,
    authorize_url,
    basic,
    code_from,
    consent,
    exchange,
    form_post,
    make_client,
    push,
)

PAYMENT = json.dumps([EXAMPLE])
FULL_LOGIN = ["pushed", "consent_shown", "decided", "code_issued", "redeemed", "token_issued"]


@pytest.fixture
def browser(user: Any) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def names(audit_id: Any) -> list[str]:
    return list(
        AuditEvent.objects.filter(audit_id=audit_id).order_by("at", "id").values_list("event", flat=True)
    )


def start(client: Client, **overrides: str) -> tuple[str, Any]:
    response = push(client, auth_params(**overrides))
    assert response.status_code == 201, response.content
    return response.json()["request_uri"], PushedRequest.objects.order_by("-pk").first().audit_id


def login(client: Client, browser: Client, **overrides: str) -> tuple[dict[str, Any], Any, str, str]:
    """A whole login; the token response, the audit id, the reference and the code."""
    request_uri, audit_id = start(client, **overrides)
    code = code_from(consent(browser, authorize_url(request_uri)))["code"]
    tokens = exchange(client, code)
    assert tokens.status_code == 200, tokens.content
    return tokens.json(), audit_id, request_uri, code


def refresh(client: Client, refresh_token: str) -> Any:
    return form_post(
        client,
        TOKEN_URL,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
    )


def facts(audit_id: Any, event: str) -> dict[str, Any]:
    return dict(AuditEvent.objects.get(audit_id=audit_id, event=event).facts)


# The chain of a login, a denial, a refresh and a revocation ---------------------------------------


def test_the_chain_of_a_full_login(client, browser, confidential, user):
    tokens, audit_id, _uri, _code = login(client, browser, authorization_details=PAYMENT, scope="read write")
    assert names(audit_id) == FULL_LOGIN
    chain = AuditChain.objects.get(pk=audit_id)
    assert (chain.client_id, chain.application, chain.user, chain.outcome) == (
        "conf-client",
        confidential,
        user,
        "allowed",
    )
    events = {event.event: event for event in AuditEvent.objects.filter(audit_id=audit_id)}
    # Who: the user from the consent page on; the client on every row.
    assert events["pushed"].user is None
    assert all(events[name].user == user for name in FULL_LOGIN[1:])
    assert {event.client_id for event in events.values()} == {"conf-client"}
    # What was pushed and approved.
    assert events["pushed"].facts["scope"] == ["read", "write"]
    assert events["pushed"].facts["authorization_details"][0]["type"] == "payment_initiation"
    assert events["decided"].facts["decision"] == "allow"
    assert events["decided"].facts["consent"] == "given"
    assert events["decided"].facts["authorization_details"] == events["pushed"].facts["authorization_details"]
    # What was issued, by id.
    token = get_access_token_model().objects.get()
    issued = events["token_issued"].facts
    assert issued["access_token_id"] == token.pk
    assert issued["refresh_token_id"] == get_refresh_token_model().objects.get().pk
    assert issued["scope"] == ["read", "write"]
    assert issued["expires"] == token.expires.isoformat()
    assert issued["authorization_details"] == events["decided"].facts["authorization_details"]
    assert isinstance(events["code_issued"].facts["grant_id"], int)
    assert events["redeemed"].facts["outcome"] == "code"
    assert tokens["authorization_details"] == [EXAMPLE]


def test_the_chain_of_a_denial(client, browser, confidential, user):
    request_uri, audit_id = start(client)
    answer = code_from(consent(browser, authorize_url(request_uri), allow=False))
    assert answer["error"] == "access_denied"
    assert names(audit_id) == ["pushed", "consent_shown", "decided", "redeemed"]
    decided = AuditEvent.objects.get(audit_id=audit_id, event="decided")
    assert decided.facts == {"decision": "deny", "consent": "given"}
    assert decided.user == user
    chain = AuditChain.objects.get(pk=audit_id)
    assert (chain.outcome, chain.user) == ("denied", user)


def test_the_chain_of_a_refresh_and_a_revocation(client, browser, confidential):
    tokens, audit_id, _uri, _code = login(client, browser)
    first = refresh(client, tokens["refresh_token"])
    assert first.status_code == 200
    refreshed = refresh(client, first.json()["refresh_token"])
    assert refreshed.status_code == 200
    assert names(audit_id) == [*FULL_LOGIN, "refreshed", "refreshed"]
    last = AuditEvent.objects.filter(audit_id=audit_id, event="refreshed").last()
    old_refresh = get_refresh_token_model().objects.get(
        token_checksum=_checksum(first.json()["refresh_token"])
    )
    assert last.facts["previous_refresh_token_id"] == old_refresh.pk
    assert "authorization_details" in last.facts and last.facts["authorization_details"] is None

    revoked = form_post(
        client,
        "/o/revoke_token/",
        {"token": refreshed.json()["access_token"]},
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
    )
    assert revoked.status_code == 200
    assert names(audit_id)[-1] == "revoked"
    assert facts(audit_id, "revoked")["token_type"] == "access_token"


def test_a_refresh_without_rotation_is_in_the_chain(client, browser, confidential, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ROTATE_REFRESH_TOKEN": False}
    tokens, audit_id, _uri, _code = login(client, browser)
    assert refresh(client, tokens["refresh_token"]).status_code == 200
    assert names(audit_id) == [*FULL_LOGIN, "refreshed"]
    refreshed = facts(audit_id, "refreshed")
    token = get_access_token_model().objects.get()
    assert refreshed["access_token_id"] == token.pk
    assert refreshed["expires"] == token.expires.isoformat()
    assert refreshed["refresh_token_id"] == refreshed["previous_refresh_token_id"]


def test_a_refresh_token_revocation_is_in_the_chain(client, browser, confidential):
    tokens, audit_id, _uri, _code = login(client, browser)
    form_post(
        client,
        "/o/revoke_token/",
        {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        HTTP_AUTHORIZATION=basic("conf-client", SECRET),
    )
    assert facts(audit_id, "revoked")["token_type"] == "refresh_token"


def test_another_clients_revocation_records_nothing(client, browser, confidential, other_client):
    tokens, audit_id, _uri, _code = login(client, browser)
    form_post(
        client,
        "/o/revoke_token/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic("other-client", SECRET),
    )
    assert "revoked" not in names(audit_id)


def test_a_replayed_reference_is_recorded_in_its_chain(client, browser, confidential):
    _tokens, audit_id, request_uri, _code = login(client, browser)
    browser.get(authorize_url(request_uri))
    assert names(audit_id)[-1] == "rejected"
    assert facts(audit_id, "rejected")["reason"] == "redeemed"


def test_a_classic_login_has_no_chain(client, browser, confidential):
    from .helpers import classic_url

    code = code_from(consent(browser, classic_url()))["code"]
    assert exchange(client, code).status_code == 200
    assert not AuditEvent.objects.exists()
    assert not AuditChain.objects.exists()


def test_a_client_that_skips_consent_is_recorded_as_skipped(client, browser, db, user):
    make_client("auto-client", skip_authorization=True)
    response = push(client, auth_params(client_id="auto-client"), client_id="auto-client")
    audit_id = PushedRequest.objects.get().audit_id
    code_from(browser.get(authorize_url(response.json()["request_uri"], client_id="auto-client")))
    assert names(audit_id) == ["pushed", "decided", "code_issued", "redeemed"]
    assert facts(audit_id, "decided")["consent"] == "skipped"


def test_the_audit_trail_can_be_switched_off(client, browser, confidential, settings):
    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUDIT_TRAIL": False}
    login(client, browser)
    assert not AuditEvent.objects.exists()
    assert not AuditChain.objects.exists()


def test_audit_ids_are_distinct_and_never_the_reference(client, confidential):
    first, first_id = start(client)
    _second, second_id = start(client)
    assert first_id != second_id
    assert str(first_id) not in first


# Nothing secret -------------------------------------------------------------------------------------


def test_no_reference_secret_code_or_token_is_stored_or_exported(client, browser, confidential):
    tokens, _audit_id, request_uri, code = login(client, browser, authorization_details=PAYMENT)
    again = refresh(client, tokens["refresh_token"]).json()
    stored = (
        json.dumps([list(AuditEvent.objects.values()), list(AuditChain.objects.values())], default=str)
        + export()
    )
    for secret in (
        request_uri.rsplit(":", 1)[1],
        PushedRequest.objects.get().digest,
        SECRET,
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        again["access_token"],
        again["refresh_token"],
    ):
        assert secret not in stored


def test_sensitive_keys_are_kept_as_digests_only(client, browser, confidential, settings):
    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUDIT_SENSITIVE_KEYS": ["creditorAccount", "creditorName"]}
    tokens, audit_id, _uri, _code = login(client, browser, authorization_details=PAYMENT)
    stored = json.dumps(list(AuditEvent.objects.values_list("facts", flat=True))) + export()
    assert "DE02100100109307118603" not in stored
    assert "Merchant A" not in stored
    pushed = facts(audit_id, "pushed")["authorization_details"][0]
    assert pushed["creditorAccount"].startswith("hmac-sha256:")
    assert pushed["instructedAmount"] == {"currency": "EUR", "amount": "123.50"}
    # Equal values, equal digests: the approved details can be matched with the pushed ones.
    assert facts(audit_id, "token_issued")["authorization_details"][0] == pushed
    # The token itself carries the real values.
    assert tokens["authorization_details"] == [EXAMPLE]


# Signals ---------------------------------------------------------------------------------------


def test_each_new_event_sends_its_signal(client, browser, confidential):
    seen: list[tuple[str, dict[str, Any]]] = []
    new_signals = {
        "consent_shown": signals.consent_shown,
        "decided": signals.request_decided,
        "code_issued": signals.code_issued,
        "token_issued": signals.token_issued,
        "refreshed": signals.token_refreshed,
        "revoked": signals.token_revoked,
    }
    receivers = []
    for name, signal in new_signals.items():

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            seen.append((_name, kwargs))

        signal.connect(receiver)
        receivers.append((signal, receiver))
    try:
        tokens, audit_id, _uri, _code = login(client, browser, authorization_details=PAYMENT)
        again = refresh(client, tokens["refresh_token"]).json()
        form_post(
            client,
            "/o/revoke_token/",
            {"token": again["access_token"]},
            HTTP_AUTHORIZATION=basic("conf-client", SECRET),
        )
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)
    assert [name for name, _ in seen] == list(new_signals)
    assert {kwargs["audit_id"] for _, kwargs in seen} == {audit_id}
    assert {kwargs["client_id"] for _, kwargs in seen} == {"conf-client"}
    # Receivers get the real approved values (the stored rows get digests of sensitive ones).
    assert dict(seen)["token_issued"]["authorization_details"] == [EXAMPLE]


# Export ------------------------------------------------------------------------------------------


def export(*args: str) -> str:
    out = StringIO()
    call_command("exportauditevents", *args, stdout=out)
    return out.getvalue()


def test_export_writes_json_lines_filtered_by_client_and_time(client, browser, confidential, other_client):
    _tokens, audit_id, _uri, _code = login(client, browser)
    push(client, auth_params(client_id="other-client"), client_id="other-client")
    lines = [json.loads(line) for line in export().splitlines()]
    assert [line["event"] for line in lines] == [*FULL_LOGIN, "pushed"]
    assert lines[0]["audit_id"] == str(audit_id)
    assert lines[1]["username"] == "alice"
    assert {line["client_id"] for line in lines} == {"conf-client", "other-client"}
    only_other = [json.loads(line) for line in export("--client", "other-client").splitlines()]
    assert [line["event"] for line in only_other] == ["pushed"]
    assert export("--client", "nobody") == ""
    AuditEvent.objects.filter(client_id="conf-client").update(at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert [json.loads(line)["client_id"] for line in export("--since", since).splitlines()] == [
        "other-client"
    ]
    assert len(export("--since", (timezone.now() - timedelta(days=4)).isoformat()).splitlines()) == 7


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-45", ""])
def test_export_refuses_a_malformed_since(db, bad):
    with pytest.raises(CommandError):
        export("--since", bad)


# Retention ---------------------------------------------------------------------------------------


def clear() -> str:
    out = StringIO()
    call_command("clearpushedrequests", stdout=out)
    return out.getvalue()


def test_the_cleanup_removes_redeemed_requests_but_keeps_their_chains(client, browser, confidential):
    _tokens, audit_id, _uri, _code = login(client, browser)
    output = clear()
    assert "Deleted 1 redeemed" in output
    assert not PushedRequest.objects.exists()
    assert names(audit_id) == FULL_LOGIN
    assert AuditChain.objects.filter(pk=audit_id).exists()


def test_the_cleanup_removes_audit_rows_past_the_retention(client, browser, confidential, settings):
    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUDIT_RETENTION_DAYS": 30}
    _tokens, old_id, _uri, _code = login(client, browser)
    _tokens, recent_id, _uri, _code = login(client, browser)
    long_ago = timezone.now() - timedelta(days=31)
    AuditEvent.objects.filter(audit_id=old_id).update(at=long_ago)
    AuditChain.objects.filter(pk=old_id).update(created_at=long_ago)
    # A chain pushed long ago whose token was refreshed lately keeps that event and its summary.
    AuditChain.objects.filter(pk=recent_id).update(created_at=long_ago)
    AuditEvent.objects.filter(audit_id=recent_id).exclude(event="token_issued").update(at=long_ago)
    output = clear()
    assert "Deleted 11 audit events and 1 audit chains older than 30 days" in output
    assert not AuditEvent.objects.filter(audit_id=old_id).exists()
    assert not AuditChain.objects.filter(pk=old_id).exists()
    assert names(recent_id) == ["token_issued"]
    assert AuditChain.objects.filter(pk=recent_id).exists()


def test_an_event_for_a_chain_the_retention_removed_is_still_stored(client, browser, confidential):
    tokens, audit_id, _uri, _code = login(client, browser)
    AuditEvent.objects.all().delete()
    AuditChain.objects.all().delete()
    assert refresh(client, tokens["refresh_token"]).status_code == 200
    assert names(audit_id) == ["refreshed"]


# Admin -------------------------------------------------------------------------------------------


@pytest.fixture
def staff(db: Any) -> Client:
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "admin-password")
    staff = Client()
    staff.force_login(admin)
    return staff


def test_the_admin_shows_one_chain_as_a_timeline(client, browser, confidential, staff):
    tokens, audit_id, request_uri, code = login(client, browser, authorization_details=PAYMENT)
    page = staff.get(f"/admin/oauth_par/auditchain/{audit_id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    positions = [html.index(f"<td>{name}</td>") for name in FULL_LOGIN]
    assert positions == sorted(positions)
    assert "Merchant A" in html
    for secret in (request_uri.rsplit(":", 1)[1], code, tokens["access_token"], tokens["refresh_token"]):
        assert secret not in html
    # Read-only: no save button, no add or delete.
    assert 'name="_save"' not in html
    assert staff.get("/admin/oauth_par/auditchain/add/").status_code == 403
    assert staff.post(f"/admin/oauth_par/auditchain/{audit_id}/delete/").status_code == 403


def test_the_admin_filters_chains_by_client_user_and_outcome(
    client, browser, confidential, other_client, staff
):
    _tokens, allowed_id, _uri, _code = login(client, browser)
    request_uri, denied_id = start(client)
    consent(browser, authorize_url(request_uri), allow=False)
    push(client, auth_params(client_id="other-client"), client_id="other-client")
    other_id = PushedRequest.objects.get(application=other_client).audit_id

    def listed(query: str) -> set[str]:
        page = staff.get("/admin/oauth_par/auditchain/?" + query)
        assert page.status_code == 200, query
        html = page.content.decode()
        return {str(chain) for chain in (allowed_id, denied_id, other_id) if str(chain) in html}

    assert listed("") == {str(allowed_id), str(denied_id), str(other_id)}
    assert listed("outcome=denied") == {str(denied_id)}
    assert listed("outcome=allowed") == {str(allowed_id)}
    assert listed(f"application__id__exact={other_client.pk}") == {str(other_id)}
    user_pk = get_user_model().objects.get(username="alice").pk
    assert listed(f"user__id__exact={user_pk}") == {str(allowed_id), str(denied_id)}


def test_the_admin_refuses_lookups_its_filters_do_not_offer(client, browser, confidential, staff):
    _tokens, _audit_id, _uri, _code = login(client, browser)
    page = staff.get("/admin/oauth_par/auditchain/?user__password__startswith=pbkdf2")
    # Django refuses a lookup the filters do not offer (DisallowedModelAdminLookup), never filters by it.
    assert page.status_code == 400


def test_the_client_admin_page_restricts_authorization_details_types(confidential, staff, settings):
    page = staff.get(f"/admin/oauth2_provider/application/{confidential.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="payment_initiation"' in html
    assert "restrict_authorization_details_types" in html


def _checksum(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


# Settings and checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUDIT_TRAIL", "yes"),
        ("AUDIT_TRAIL", 1),
        ("AUDIT_RETENTION_DAYS", 0),
        ("AUDIT_RETENTION_DAYS", "365"),
        ("AUDIT_RETENTION_DAYS", True),
        ("AUDIT_SENSITIVE_KEYS", "iban"),
        ("AUDIT_SENSITIVE_KEYS", ["iban", 3]),
        ("AUDIT_SENSITIVE_KEYS", [""]),
    ],
)
def test_bad_audit_settings_are_reported_and_refused(settings, name, value):
    from django.core.exceptions import ImproperlyConfigured

    from django_oauth_par.checks import check_settings
    from django_oauth_par.conf import par_settings

    settings.OAUTH2_PAR = {name: value}
    assert [message.id for message in check_settings()] == ["oauth_par.E004"]
    with pytest.raises(ImproperlyConfigured):
        getattr(par_settings, name)


@pytest.fixture
def plain_validator(settings: Any) -> None:
    """DOT's own validator, without GrantedAuthorizationMixin (DOT reloads its settings on the change)."""
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OAUTH2_VALIDATOR_CLASS": "oauth2_provider.oauth2_validators.OAuth2Validator",
    }


def validator_check_ids() -> list[str]:
    from django_oauth_par.checks import check_validator

    return [message.id for message in check_validator()]


def test_the_example_validator_passes_the_check():
    assert validator_check_ids() == []


def test_registered_types_without_the_validator_mixin_are_an_error(settings, plain_validator):
    assert validator_check_ids() == ["oauth_par.E007"]


def test_the_audit_trail_without_the_validator_mixin_is_a_warning(settings, plain_validator):
    settings.OAUTH2_PAR = {"AUDIT_TRAIL": True}
    assert validator_check_ids() == ["oauth_par.W006"]
    settings.OAUTH2_PAR = {"AUDIT_TRAIL": False}
    assert validator_check_ids() == []
