"""Rich Authorization Requests and the audit chain, seen by a person in a real browser.

The demo relying party's "Pay" button pushes RFC 9396 §2's payment as ``authorization_details``;
the person sees it on the consent page, the token response and introspection return it, and
staff read the login's audit chain as a timeline in the admin.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import requests
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

from django_oauth_par.models import AuditChain
from example_project.demo.payments import EXAMPLE

from .conftest import ADMIN_PASSWORD, ADMIN_USERNAME, HTTP_TIMEOUT, allow, callback_url, log_in

TIMELINE = ["pushed", "consent_shown", "decided", "code_issued", "redeemed", "token_issued"]


def pay_with_par(page: Any, site: str, shots: Any) -> dict[str, Any]:
    """The demo's payment login, from its start page to the token response (returned as a dict)."""
    page.goto(f"{site}/")
    with page.expect_navigation():
        page.click("#pay")
    log_in(page)
    assert page.url.startswith(f"{site}/o/authorize/"), page.url
    details = page.locator(".authorization-details")
    assert details.count() == 1, page.content()
    text = details.inner_text()
    assert "Pay 123.50 EUR" in text, text
    assert "Merchant A" in text, text
    assert "DE02100100109307118603" in text, text
    shots(page, "consent-shows-the-payment")
    allow(page)
    assert page.url.startswith(callback_url(site)), page.url
    shots(page, "token-response")
    assert page.locator("h1").inner_text() == "Signed in with PAR: the story of this login"
    tokens: dict[str, Any] = json.loads(page.locator("#token-response").inner_text())
    return tokens


def introspect(site: str, token: str) -> dict[str, Any]:
    Application = get_application_model()  # noqa: N806 - a model class
    resource_server = Application.objects.create(
        client_id="e2e-resource-server",
        name="resource server",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    bearer = get_access_token_model().objects.create(
        application=resource_server,
        token="e2e-introspection-bearer",
        scope="introspection",
        expires=timezone.now() + timedelta(hours=1),
    )
    answer = requests.post(
        f"{site}/o/introspect/",
        data={"token": token},
        headers={"Authorization": f"Bearer {bearer.token}"},
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_payment_is_shown_approved_and_returned(page, site, shots):
    tokens = pay_with_par(page, site, shots)
    assert tokens["authorization_details"] == [EXAMPLE]
    introspection = introspect(site, tokens["access_token"])
    assert introspection["active"] is True
    assert introspection["authorization_details"] == [EXAMPLE]
    api = requests.get(
        f"{site}/api/payment/",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=HTTP_TIMEOUT,
    )
    assert api.json() == {"authorization_details": [EXAMPLE]}


def test_staff_read_one_login_as_a_timeline(new_page, site, shots):
    person = new_page()
    tokens = pay_with_par(person, site, shots)
    chain = AuditChain.objects.get()

    admin = new_page()
    admin.goto(f"{site}/admin/")
    admin.fill("#id_username", ADMIN_USERNAME)
    admin.fill("#id_password", ADMIN_PASSWORD)
    with admin.expect_navigation():
        admin.click("input[type=submit]")
    admin.goto(f"{site}/admin/oauth_par/auditchain/?outcome=allowed")
    shots(admin, "audit-chains")
    assert admin.locator("#result_list tbody tr").count() == 1
    with admin.expect_navigation():
        admin.locator("#result_list tbody tr th a").click()
    assert str(chain.pk) in admin.url, admin.url
    timeline = admin.locator("table.audit-timeline")
    timeline.scroll_into_view_if_needed()
    shots(admin, "timeline")
    events = timeline.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert events == TIMELINE, events
    text = admin.locator("body").inner_text()
    # The IBAN is a sensitive key in the demo: the timeline shows its digest only.
    assert "DE02100100109307118603" not in text
    assert "hmac-sha256:" in text
    assert "Merchant A" in text
    for secret in (tokens["access_token"], tokens["refresh_token"]):
        assert secret not in admin.content()
