"""The demo's pages, clicked through in a real browser as a new user would.

Each scenario on the start page is run to its end; the story page must show each step of
the login, readable at 1,000 pixels wide with no horizontal scrolling, and never the
secrets it masks. Screenshots go to artifacts/screenshots/<test>/. With
``UPDATE_DOCS_SCREENSHOT=1`` the plain PAR story is also saved as docs/demo.png, the
README's and the documentation's picture of the demo.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from typing import Any
from urllib.parse import parse_qs, urlparse

from example_project import settings as demo_settings
from example_project.demo.views import JAR_CLIENT_ID, PAR_REQUIRED_CLIENT_ID, PAYMENT_DETAILS
from example_project.logfilters import MaskReferences

from .conftest import CLIENT_ID, CLIENT_SECRET, REPO, USERNAME, allow, callback_url, log_in, query_of

WIDTH = 1000


def assert_fits(page: Any) -> None:
    """Readable at 1,000 px: nothing makes the page scroll sideways.

    Called before any screenshot, because Shots adds a wrapping style to ``<pre>`` blocks.
    """
    assert page.viewport_size["width"] == WIDTH
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= WIDTH, f"the page is {scroll_width} px wide"


def open_start_page(page: Any, site: str, shots: Any) -> None:
    page.goto(f"{site}/")
    assert_fits(page)
    shots(page, "start-page")


def run_scenario(page: Any, button: str) -> list[str]:
    """Press a scenario's button, sign in and consent; returns every URL the browser asked for."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with page.expect_navigation():
        page.click(button)
    return requested


def text_of(page: Any, selector: str) -> str:
    return page.locator(selector).inner_text()


def story_fields(page: Any, selector: str) -> dict[str, str]:
    rows = page.locator(f"{selector} tr")
    return {
        rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").inner_text()
        for i in range(rows.count())
    }


def authorize_requests(requested: list[str], site: str) -> list[str]:
    return [url for url in requested if url.startswith(f"{site}/o/authorize/")]


def assert_story(page: Any, site: str, requested: list[str], pushed_extra: dict[str, str]) -> None:
    """What the story page of a successful PAR login must show, and must not."""
    assert page.url.startswith(callback_url(site)), page.url
    assert_fits(page)
    assert text_of(page, "h1") == "Signed in with PAR: the story of this login"
    html = page.content()

    # 1. The push: its body, the client secret masked.
    assert text_of(page, "#push-request").startswith(f"POST {site}/o/par/")
    assert CLIENT_SECRET not in html
    assert "Authorization: Basic ••••" in text_of(page, "#push-request")
    body = story_fields(page, "#push-body")
    assert body["client_id"] == CLIENT_ID
    assert body["redirect_uri"] == callback_url(site)
    assert body["code_challenge_method"] == "S256"
    for name, value in pushed_extra.items():
        assert body[name] == value, (name, body)

    # 2. The answer: 201, a masked reference and its lifetime.
    assert "201 Created" in text_of(page, "#step-answer h2")
    answer = json.loads(text_of(page, "#push-answer"))
    assert answer["expires_in"] == 60
    assert answer["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert "…" in answer["request_uri"]

    # 3. The browser carried only client_id and request_uri: the very URL it asked for.
    sent = authorize_requests(requested, site)
    assert sent, requested
    assert set(query_of(sent[0])) == {"client_id", "request_uri"}, sent[0]
    request_uri = query_of(sent[0])["request_uri"][0]
    assert request_uri not in html, "the full request_uri is on the story page"
    assert f"client_id={CLIENT_ID}&request_uri=urn:ietf:params:oauth:request_uri:" in text_of(
        page, "#authorize-url"
    )
    classic = parse_qs(urlparse(text_of(page, "#classic-url")).query)
    assert classic["state"] == [body["state"]] and classic["code_challenge"] == [body["code_challenge"]]
    assert classic["redirect_uri"] == [callback_url(site)]

    # 4-5. Consent and the code, masked; the state matched.
    assert "You sign in and consent" in text_of(page, "#step-consent")
    returned = story_fields(page, "#callback")
    assert returned["state"] == body["state"]
    # RFC 9207: the issuer came back with the code, and the client checked it.
    assert returned["iss"] == f"{site}/o"
    assert text_of(page, "#iss-check") == "iss is the server's issuer"
    code = query_of(page.url)["code"][0]
    assert returned["code"].startswith(code[:4]) and code not in html

    # 6. The token response as formatted JSON.
    tokens = json.loads(text_of(page, "#token-response"))
    assert tokens["token_type"] == "Bearer"
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens)
    assert "\n  " in text_of(page, "#token-response"), "not formatted"

    # 7. The ID token's claims, decoded and checked.
    claims = json.loads(text_of(page, "#id-token-claims"))
    assert claims["aud"] == CLIENT_ID
    assert claims["nonce"] == body["nonce"]
    assert "signature verified" in text_of(page, "#id-token-verified")
    checks = page.locator("#step-id-token ul li").all_inner_texts()
    assert checks and all(check.endswith(": yes") for check in checks), checks


def test_plain_par_tells_the_story_of_one_login(page, site, shots):
    open_start_page(page, site, shots)
    requested = run_scenario(page, "#sign-in")
    assert page.url.startswith(f"{site}/accounts/login/"), page.url
    assert_fits(page)
    shots(page, "login")
    log_in(page)
    assert page.locator("input[name=allow]").is_visible()
    assert_fits(page)
    shots(page, "consent")
    allow(page)
    assert_story(page, site, requested, {})
    path = shots(page, "story")
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(path, REPO / "docs" / "demo.png")

    # Start again goes back to the scenarios.
    with page.expect_navigation():
        page.click("#start-again")
    assert page.url == f"{site}/"


def test_prompt_login_asks_a_signed_in_person_to_log_in_again(page, site, shots):
    # Signed in already, by a first login at the server.
    page.goto(f"{site}/accounts/login/")
    log_in(page)
    open_start_page(page, site, shots)
    requested = run_scenario(page, "#scenario-prompt-login")
    # prompt=login: the login page again, and its next= is the reference alone.
    assert page.url.startswith(f"{site}/accounts/login/"), page.url
    assert set(query_of(query_of(page.url)["next"][0])) == {"client_id", "request_uri"}
    assert_fits(page)
    shots(page, "login-again")
    log_in(page)
    assert page.locator("input[name=allow]").is_visible()
    assert_fits(page)
    shots(page, "consent")
    allow(page)
    assert_story(page, site, requested, {"prompt": "login"})
    shots(page, "story")
    assert "prompt=login was pushed" in text_of(page, "#step-consent")
    assert text_of(page, "#scenario") == "PAR with prompt=login"
    # The login page came between the authorization request and the consent.
    logins = [url for url in requested if url.startswith(f"{site}/accounts/login/")]
    assert logins, requested


def test_classic_request_of_a_par_required_client_is_refused(page, site, shots):
    open_start_page(page, site, shots)
    with page.expect_navigation() as navigation:
        page.click("#scenario-classic-refused")
    answer = navigation.value
    assert answer is not None and answer.status == 400
    # The browser carries the whole request, as classic requests do; the server refuses it.
    query = query_of(page.url)
    assert query["client_id"] == [PAR_REQUIRED_CLIENT_ID]
    assert {"redirect_uri", "scope", "state", "code_challenge"} <= set(query)
    text = page.locator("body").inner_text()
    assert "This sign-in request cannot be completed" in text, text
    assert "must push its authorization request" in text, text
    assert "invalid_request" in text
    assert "Authorization server" in text_of(page, "header")
    assert "code=" not in page.url
    assert_fits(page)
    shots(page, "refused")
    # The way back to the demo is on the page.
    with page.expect_navigation():
        page.click("header a")
    assert page.url == f"{site}/"


def test_cancel_at_consent_tells_the_client_no(page, site, shots):
    open_start_page(page, site, shots)
    run_scenario(page, "#sign-in")
    log_in(page)
    with page.expect_navigation():
        page.click("input[type=submit]:not([name=allow])")
    assert_fits(page)
    assert text_of(page, "h1") == "Authorization refused"
    assert "access_denied" in text_of(page, "#problem")
    assert "token-response" not in page.content()
    shots(page, "denied")


def test_scenarios_follow_what_the_server_advertises(page, site, shots):
    """RAR and JAR appear as buttons when the server's metadata announces them."""
    metadata = page.request.get(f"{site}/.well-known/oauth-authorization-server/o").json()
    rar = "payment_initiation" in (metadata.get("authorization_details_types_supported") or [])
    open_start_page(page, site, shots)
    assert page.locator("#sign-in").is_visible()
    assert page.locator("#scenario-prompt-login").is_visible()
    assert page.locator("#scenario-classic-refused").is_visible()
    assert page.locator("#pay").count() == (1 if rar else 0)
    assert page.locator("#place-rar").count() == (0 if rar else 1)
    jar = bool(metadata.get("request_parameter_supported")) and "private_key_jwt" in (
        metadata.get("token_endpoint_auth_methods_supported") or []
    )
    assert page.locator("#scenario-jar").count() == (1 if jar else 0)
    assert page.locator("#place-jar").count() == (0 if jar else 1)
    assert USERNAME in text_of(page, ".credentials")
    if rar:
        requested = run_scenario(page, "#pay")
        log_in(page)
        shots(page, "rar-consent")
        allow(page)
        assert_story(page, site, requested, {})
        shots(page, "rar-story")
        assert json.loads(text_of(page, "#pushed-details")) == PAYMENT_DETAILS
        assert json.loads(text_of(page, "#granted-details"))[0]["type"] == "payment_initiation"


def test_unexpected_callback_leaves_the_code_alone(page, site, shots):
    answer = page.goto(f"{site}/demo/callback/?code=abc&state=xyz")
    assert answer is not None and answer.status == 400
    assert text_of(page, "h1") == "Unexpected callback"
    assert "was not used" in text_of(page, "#problem")
    assert_fits(page)
    shots(page, "unexpected-callback")


def test_the_demo_server_log_never_shows_a_reference():
    """runserver's request lines pass through the demo's filter before any handler."""
    logger = demo_settings.LOGGING["loggers"]["django.server"]
    assert logger["propagate"] is False
    for handler in logger["handlers"]:
        assert demo_settings.LOGGING["handlers"][handler]["filters"] == ["mask_references"]
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (
            "GET /o/authorize/?client_id=demo-rp&request_uri=urn%3Aietf%3Aparams%3Aoauth%3A"
            "request_uri%3Asecret1 HTTP/1.1",
            "302",
            "0",
        ),
        None,
    )
    line = "GET /demo/callback/?code=c0de&state=st HTTP/1.1"
    callback = logging.LogRecord("django.server", logging.INFO, __file__, 1, "%s", (line,), None)
    # The login page's next= carries the authorization URL, encoded once more.
    line = (
        "GET /accounts/login/?next=/o/authorize/%3Fclient_id%3Ddemo-rp%26request_uri%3Durn%253Aietf"
        "%253Aparams%253Aoauth%253Arequest_uri%253Asecret2 HTTP/1.1"
    )
    login = logging.LogRecord("django.server", logging.INFO, __file__, 1, "%s", (line,), None)
    for item in (record, callback, login):
        assert MaskReferences().filter(item)
    line = record.getMessage()
    assert "secret1" not in line and "request_uri=[hidden]" in line and "client_id=demo-rp" in line
    assert callback.getMessage() == "GET /demo/callback/?code=[hidden]&state=[hidden] HTTP/1.1"
    assert login.getMessage() == (
        "GET /accounts/login/?next=/o/authorize/%3Fclient_id%3Ddemo-rp%26request_uri%3D[hidden] HTTP/1.1"
    )


def test_jar_with_private_key_jwt_tells_the_story(page, site, shots):
    """A key-based client: a signed request object and assertions instead of a secret."""
    open_start_page(page, site, shots)
    requested = run_scenario(page, "#scenario-jar")
    log_in(page)
    assert page.locator("input[name=allow]").is_visible()
    allow(page)
    assert page.url.startswith(callback_url(site)), page.url
    assert_fits(page)
    assert text_of(page, "h1") == "Signed in with PAR: the story of this login"
    html = page.content()

    # The push: the request object and the assertion, nothing else beside client_id; no secret.
    assert "Authorization:" not in text_of(page, "#push-request")
    body = story_fields(page, "#push-body")
    assert set(body) == {"request", "client_id", "client_assertion_type", "client_assertion"}, body
    assert body["client_id"] == JAR_CLIENT_ID
    assert body["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    for name in ("request", "client_assertion"):
        assert body[name].startswith("eyJ") and body[name].endswith(" characters)"), body[name]
    claims = json.loads(text_of(page, "#request-object"))
    assert claims["iss"] == JAR_CLIENT_ID and claims["aud"] == f"{site}/o"
    assert claims["redirect_uri"] == callback_url(site) and claims["code_challenge_method"] == "S256"
    assert "201 Created" in text_of(page, "#step-answer h2")

    # The browser still carried only the reference.
    sent = authorize_requests(requested, site)
    assert set(query_of(sent[0])) == {"client_id", "request_uri"}, sent[0]
    assert query_of(sent[0])["request_uri"][0] not in html

    # The code exchange authenticated with a fresh assertion; the tokens are the client's.
    token_fields = story_fields(page, "#step-token table")
    assert "client_assertion" in token_fields and "Authorization:" not in text_of(page, "#token-request")
    tokens = json.loads(text_of(page, "#token-response"))
    assert tokens["token_type"] == "Bearer" and "id_token" in tokens
    assert json.loads(text_of(page, "#id-token-claims"))["aud"] == JAR_CLIENT_ID
    shots(page, "story")
