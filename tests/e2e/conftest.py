"""Fixtures and helpers of the end-to-end tests.

Everything here runs against pytest-django's ``live_server`` (a threaded server in this
process, on the test database) with the example project's demo clients created by
``manage.py setup_demo``. The browser is Debian's Chromium (``/usr/bin/chromium``) driven
by Playwright; Playwright never downloads a browser of its own. ``tests/e2e/setup.sh``
installs Chromium and the Node client's modules; when either is missing the tests fail
with a message saying so, they are never skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urljoin, urlparse

import pytest
import requests
from django.core.management import call_command

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
NODE_DIR = Path(__file__).resolve().parent / "node"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long any single browser action may take before the test fails.
ACTION_TIMEOUT_MS = 10_000

CLIENT_ID = "demo-rp"
CLIENT_SECRET = "demo-rp-secret"
PUBLIC_CLIENT_ID = "demo-public"
USERNAME = "demo"
PASSWORD = "demo-password"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password"
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
HTTP_TIMEOUT = 15


def setup_needed(what: str) -> str:
    return f"{what}: run `bash tests/e2e/setup.sh` to make this machine ready for the end-to-end tests"


# The site ------------------------------------------------------------------------------


@pytest.fixture
def site(live_server: Any) -> str:
    """The live server's base URL, with the demo user, admin and clients registered for it."""
    call_command("setup_demo", base_url=[live_server.url], stdout=StringIO())
    return live_server.url.rstrip("/")


def callback_url(site: str) -> str:
    return f"{site}/demo/callback/"


# PKCE, pushes and token requests made by the test itself -------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def push(site: str, **params: str) -> requests.Response:
    """A push to the PAR endpoint as demo-rp, with HTTP Basic client authentication."""
    return requests.post(
        f"{site}/o/par/",
        data={"client_id": CLIENT_ID, **params},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=HTTP_TIMEOUT,
    )


def pushed_request_uri(site: str, **params: str) -> str:
    response = push(site, **params)
    assert response.status_code == 201, response.text
    request_uri = response.json()["request_uri"]
    assert request_uri.startswith(REQUEST_URI_PREFIX)
    return request_uri


def exchange_code(site: str, code: str, verifier: str) -> requests.Response:
    return requests.post(
        f"{site}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback_url(site),
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=HTTP_TIMEOUT,
    )


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (the independent clients verify signatures)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query, keep_blank_values=True)


def encodings(value: str) -> set[str]:
    """The forms a value can take in a URL or a page."""
    return {value, quote(value, safe=""), quote_plus(value), quote(quote(value, safe=""), safe="")}


# A browser-like HTTP session (for the independent Python client) ------------------------


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in_and_consent(
    session: requests.Session, authorize_url: str, callback: str
) -> tuple[str, list[str]]:
    """Follow an authorization URL as a browser with a person in front of it would.

    GET authorize -> 302 login -> GET login form -> POST credentials -> 302 authorize ->
    consent page -> POST allow -> 302 to the callback. Returns the callback URL (not
    fetched: the caller is the client) and every URL visited on the way.
    """
    visited: list[str] = []

    def get(url: str) -> requests.Response:
        visited.append(url)
        return session.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)

    def post(url: str, data: dict[str, str]) -> requests.Response:
        visited.append(url)
        return session.post(
            url, data=data, allow_redirects=False, timeout=HTTP_TIMEOUT, headers={"Referer": url}
        )

    answer = get(authorize_url)
    assert answer.status_code == 302, f"authorize: {answer.status_code} {answer.text[:500]}"
    login_url = urljoin(authorize_url, answer.headers["Location"])
    assert urlparse(login_url).path == "/accounts/login/", login_url

    form = get(login_url)
    assert form.status_code == 200, form.status_code
    next_url = query_of(login_url)["next"][0]
    answer = post(
        login_url,
        {
            "csrfmiddlewaretoken": csrf_token(form.text),
            "username": USERNAME,
            "password": PASSWORD,
            "next": next_url,
        },
    )
    assert answer.status_code == 302, f"login: {answer.status_code} {answer.text[:500]}"
    back_to_authorize = urljoin(login_url, answer.headers["Location"])
    assert urlparse(back_to_authorize).path == "/o/authorize/", back_to_authorize

    consent = get(back_to_authorize)
    assert consent.status_code == 200, f"consent page: {consent.status_code} {consent.text[:500]}"
    assert 'name="allow"' in consent.text, consent.text[:2000]
    answer = post(back_to_authorize, {"csrfmiddlewaretoken": csrf_token(consent.text), "allow": "Authorize"})
    assert answer.status_code == 302, f"consent: {answer.status_code} {answer.text[:500]}"
    location = urljoin(back_to_authorize, answer.headers["Location"])
    assert location.startswith(callback), location
    return location, visited


# The browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, one per test module.

    Playwright's sync API keeps an asyncio loop registered on this thread while it runs,
    which makes Django refuse ORM calls from the test thread (and the database flush
    between tests); DJANGO_ALLOW_ASYNC_UNSAFE lifts that for as long as the browser is up.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(setup_needed(f"{CHROMIUM} (Debian package chromium) is not installed"))
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()


class Shots:
    """Numbered screenshots of one test: artifacts/screenshots/<test name>/NN-step.png."""

    def __init__(self, test_name: str) -> None:
        self.folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def __call__(self, page: Any, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        if page.locator("pre").count():
            # Wrap the token response's long lines, or the shot is thousands of pixels wide.
            page.add_style_tag(content="pre { white-space: pre-wrap; word-break: break-all; }")
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


@pytest.fixture
def new_page(browser: Any, site: str) -> Iterator[Any]:
    """A factory of pages, each in a fresh browser context (its own cookies: another person)."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page()


def log_in(page: Any, username: str = USERNAME, password: str = PASSWORD) -> None:
    """Fill in and submit the authorization server's login form (the page must show it)."""
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#log-in")


def allow(page: Any) -> None:
    """Press DOT's "Authorize" button on the consent page."""
    with page.expect_navigation():
        page.click("input[name=allow]")


def key_client(site: str, client_id: str, key: Any, *, require_signed_request_object: bool = False) -> Any:
    """A confidential client that authenticates with ``key`` (private_key_jwt), registered as staff would."""
    from oauth2_provider.models import get_application_model

    from django_oauth_par.models import ClientPolicy

    application = get_application_model().objects.create(
        client_id=client_id,
        name=f"{client_id} (keys)",
        client_type="confidential",
        client_secret="unused-secret-of-a-key-client",
        authorization_grant_type="authorization-code",
        redirect_uris=callback_url(site),
        algorithm="RS256",
    )
    ClientPolicy.objects.create(
        application=application,
        token_endpoint_auth_method="private_key_jwt",
        jwks=json.dumps({"keys": [json.loads(key.export_public())]}),
        require_signed_request_object=require_signed_request_object,
    )
    return application


# The Node client -------------------------------------------------------------------------


class NodeClient:
    """Runs tests/e2e/node/par_client.mjs (openid-client) for one login against ``site``."""

    def __init__(self, node: str) -> None:
        self.command = [node, str(NODE_DIR / "par_client.mjs")]

    def run(
        self,
        site: str,
        client_id: str,
        *,
        secret: str | None = None,
        private_key: Path | None = None,
        sign_request: bool = False,
        discovery: str = "oidc",
    ) -> subprocess.CompletedProcess[str]:
        """One login as ``client_id``, by its secret or its private key; the script prints JSON."""
        command = [*self.command, "--server", site, "--client-id", client_id]
        if secret is not None:
            command += ["--client-secret", secret]
        if private_key is not None:
            command += ["--private-key", str(private_key)]
        if sign_request:
            command.append("--sign-request")
        command += ["--username", USERNAME, "--password", PASSWORD]
        command += ["--redirect-uri", callback_url(site), "--discovery", discovery]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    def login(self, site: str, client_id: str, **options: Any) -> dict[str, Any]:
        """:meth:`run`, which must succeed; what the script reports."""
        finished = self.run(site, client_id, **options)
        assert finished.returncode == 0, f"{finished.stdout}\n{finished.stderr}"
        result: dict[str, Any] = json.loads(finished.stdout)
        return result


@pytest.fixture(scope="session")
def node_client() -> NodeClient:
    """The openid-client script; fails when setup.sh has not run."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(setup_needed("node is not on PATH"))
    module = NODE_DIR / "node_modules" / "openid-client" / "package.json"
    if not module.exists():
        pytest.fail(setup_needed(f"{module.parent} is missing"))
    return NodeClient(node)
