"""A person in a real browser (Debian's Chromium, driven by Playwright) against a live server."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode, urlparse

from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model

from django_oauth_par.models import ClientPolicy

from .conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    CLIENT_ID,
    allow,
    callback_url,
    encodings,
    exchange_code,
    jwt_claims,
    log_in,
    pkce_pair,
    pushed_request_uri,
    query_of,
)

RESULT = "#token-response"


def sign_in_with_par(page: Any, site: str, shots: Any) -> None:
    """The demo relying party's whole PAR login, from its start page to the token response."""
    page.goto(f"{site}/")
    shots(page, "relying-party")
    with page.expect_navigation():
        page.click("#sign-in")
    assert page.url.startswith(f"{site}/accounts/login/"), page.url
    shots(page, "login")
    log_in(page)
    assert page.url.startswith(f"{site}/o/authorize/"), page.url
    assert page.locator("input[name=allow]").is_visible()
    shots(page, "consent")
    allow(page)
    assert page.url.startswith(callback_url(site)), page.url
    shots(page, "token-response")
    assert_token_response(page)


def assert_token_response(page: Any) -> None:
    assert page.locator("h1").inner_text() == "Signed in with PAR: the story of this login"
    result = json.loads(page.locator(RESULT).inner_text())
    assert result["token_type"] == "Bearer", result
    assert {"access_token", "id_token"} <= set(result), result


def test_demo_relying_party_signs_in_with_par(page, site, shots):
    sign_in_with_par(page, site, shots)


def test_nothing_pushed_reaches_the_browser(page, site, shots):
    """Every URL the browser asks for and every page it shows carry only the reference."""
    marker = "m4rk3r" + secrets.token_hex(8)
    verifier, challenge = pkce_pair()
    pushed = {
        "response_type": "code",
        "redirect_uri": callback_url(site),
        "scope": "openid read",
        "state": f"state-{marker}",
        "nonce": f"nonce-{marker}",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    request_uri = pushed_request_uri(site, **pushed)
    authorize = f"{site}/o/authorize/?" + urlencode({"client_id": CLIENT_ID, "request_uri": request_uri})

    requested: list[str] = []
    locations: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("response", lambda response: locations.append(response.headers.get("location", "")))

    contents: dict[str, str] = {}
    page.goto(authorize)
    assert page.url.startswith(f"{site}/accounts/login/"), page.url
    # The login redirect's next= is the reference and nothing else.
    assert set(query_of(query_of(page.url)["next"][0])) == {"client_id", "request_uri"}
    contents["login"] = page.content()
    shots(page, "login")
    log_in(page)
    assert page.url == authorize, page.url
    contents["consent"] = page.content()
    shots(page, "consent")
    page.reload()
    contents["consent-reloaded"] = page.content()
    allow(page)
    shots(page, "at-the-client")

    # The final redirect goes to the client, which we play ourselves: the demo relying party
    # at that address has no flow of ours in its session and leaves the code alone.
    at_client = callbacks(requested, site)
    assert len(at_client) == 1, requested
    final = requested.index(at_client[0])
    before_callback = requested[:final]
    assert before_callback, "no request recorded"
    secrets_pushed = {
        name: value for name, value in pushed.items() if name in ("state", "nonce", "code_challenge")
    }
    secrets_pushed["marker"] = marker
    for name, value in secrets_pushed.items():
        for form in encodings(value):
            leaked_urls = [url for url in before_callback if form in url]
            assert not leaked_urls, f"pushed {name} in a URL the browser visited: {leaked_urls}"
            leaked_redirects = [
                url for url in locations if form in url and not url.startswith(callback_url(site))
            ]
            assert not leaked_redirects, f"pushed {name} in a redirect: {leaked_redirects}"
            leaked_pages = [step for step, html in contents.items() if form in html]
            assert not leaked_pages, f"pushed {name} shown on the {leaked_pages} page"
    # The redirect URI is pushed too: before the final redirect no URL names it.
    for form in encodings(callback_url(site)):
        assert not [url for url in before_callback if form in url]

    # The client gets its own state back, and the code answers to the pushed verifier and nonce.
    answer = query_of(at_client[0])
    assert answer["state"] == [pushed["state"]]
    tokens = exchange_code(site, answer["code"][0], verifier)
    assert tokens.status_code == 200, tokens.text
    assert jwt_claims(tokens.json()["id_token"])["nonce"] == pushed["nonce"]


def test_reload_then_back_button_gets_an_error_page(page, site, shots):
    """Reloading the consent page is fine; after the code is issued the reference is redeemed."""
    page.goto(f"{site}/")
    with page.expect_navigation():
        page.click("#sign-in")
    log_in(page)
    assert page.locator("input[name=allow]").is_visible()
    authorize = page.url
    shots(page, "consent")
    reloaded = page.reload()
    assert reloaded is not None and reloaded.status == 200
    assert page.url == authorize
    assert page.locator("input[name=allow]").is_visible()
    shots(page, "consent-reloaded")

    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    allow(page)
    assert_token_response(page)
    shots(page, "token-response")
    assert len(callbacks(requested, site)) == 1, requested

    back = page.go_back()
    shots(page, "back-button")
    if page.locator("input[name=allow]").count():
        # A browser may show the consent page from its cache: deciding again must fail.
        with page.expect_navigation() as navigation:
            page.click("input[name=allow]")
        back = navigation.value
        shots(page, "back-button-allow-again")
    assert back is not None and back.status == 400, back and back.status
    assert_request_used_page(page)
    assert len(callbacks(requested, site)) == 1, f"a second authorization response: {requested}"

    again = page.goto(authorize)
    assert again is not None and again.status == 400
    assert_request_used_page(page)
    shots(page, "authorize-url-again")
    assert len(callbacks(requested, site)) == 1, f"a second authorization response: {requested}"


def callbacks(requested: list[str], site: str) -> list[str]:
    return [url for url in requested if url.startswith(callback_url(site))]


def assert_request_used_page(page: Any) -> None:
    text = page.locator("body").inner_text()
    assert "This sign-in request cannot be completed" in text, text
    assert "The request_uri has already been used" in text, text
    assert "code=" not in page.url


def test_admin_requires_par_for_one_client(new_page, site, shots):
    demo_rp = get_application_model().objects.get(client_id=CLIENT_ID)
    _verifier, challenge = pkce_pair()
    classic = f"{site}/o/authorize/?" + urlencode(
        {
            "client_id": CLIENT_ID,
            "response_type": "code",
            "redirect_uri": callback_url(site),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "read",
        }
    )

    # Before: a classic request is accepted (the person is sent to log in).
    visitor = new_page()
    answer = visitor.goto(classic)
    assert answer is not None and answer.status == 200
    assert visitor.url.startswith(f"{site}/accounts/login/"), visitor.url
    shots(visitor, "classic-request-accepted")

    admin = new_page()
    admin.goto(f"{site}/admin/")
    shots(admin, "admin-login")
    admin.fill("#id_username", ADMIN_USERNAME)
    admin.fill("#id_password", ADMIN_PASSWORD)
    with admin.expect_navigation():
        admin.click("input[type=submit]")
    assert admin.url == f"{site}/admin/", admin.url
    shots(admin, "admin-index")
    admin.goto(f"{site}/admin/oauth2_provider/application/")
    shots(admin, "applications")
    with admin.expect_navigation():
        # DOT's changelist links each row by its primary key.
        admin.locator("#result_list tr", has_text=f"Demo client {CLIENT_ID}").locator("th a").click()
    assert admin.url.endswith(f"/admin/oauth2_provider/application/{demo_rp.pk}/change/"), admin.url
    section = admin.locator(".inline-group", has_text="Pushed authorization requests")
    assert section.count() == 1, "no inline section 'Pushed authorization requests'"
    checkbox = section.get_by_role("checkbox", name="Require pushed authorization requests")
    assert not checkbox.is_checked()
    checkbox.check()
    checkbox.scroll_into_view_if_needed()
    shots(admin, "require-par-ticked")
    with admin.expect_navigation():
        admin.click("input[name=_save]")
    shots(admin, "saved")
    errors = admin.locator(".errorlist").all_inner_texts()
    assert admin.url == f"{site}/admin/oauth2_provider/application/", errors
    assert "was changed successfully" in admin.locator(".messagelist").inner_text()
    assert ClientPolicy.objects.get(application=demo_rp).require_pushed_authorization_requests

    # After: a classic request is refused, before login and after it.
    for who, browser_page in (("anonymous", new_page()), ("signed-in", admin)):
        answer = browser_page.goto(classic)
        assert answer is not None and answer.status == 400, (who, answer and answer.status)
        assert urlparse(browser_page.url).path == "/o/authorize/", (who, browser_page.url)
        text = browser_page.locator("body").inner_text()
        assert "This sign-in request cannot be completed" in text, (who, text)
        assert "must push its authorization request to the pushed authorization request endpoint" in text
        assert "invalid_request" in text
        shots(browser_page, f"classic-request-refused-{who}")

    # A PAR login of the same client still succeeds.
    person = new_page()
    sign_in_with_par(person, site, shots)
    assert get_user_model().objects.get(username="demo").oauth2_provider_accesstoken.count() == 1
