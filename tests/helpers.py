"""What several test files share: the test clients and their pushes, a browser's way through the
authorization endpoint, and requests sent from many threads at once.

Fixtures and pytest hooks are in conftest.py; a helper that one test file uses stays in that file.
No test file imports another.

Nothing of django_oauth_par is imported at module level: conftest.py imports this module, also
under tests/dot_only_settings.py, where the app is not installed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.core.cache.backends.base import BaseCache
from django.db import connection
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_application_model

Application = get_application_model()
ROOT = Path(__file__).resolve().parent.parent

REDIRECT_URI = "https://rp.example/callback"
OTHER_REDIRECT_URI = "https://rp.example/other"
SECRET = "s3cret-of-the-confidential-client"
VERIFIER = "v" * 64
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
PUSH_URL = "/o/par/"
AUTHORIZE_URL = "/o/authorize/"
TOKEN_URL = "/o/token/"
LOGIN_PATH = "/accounts/login/"
PASSWORD = "alice-password"


# Clients and their pushes -------------------------------------------------------------------


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def make_client(client_id: str, client_type: str = "confidential", **extra: Any) -> Any:
    return Application.objects.create(
        client_id=client_id,
        name=f"client {client_id}",
        client_type=client_type,
        client_secret=SECRET if client_type == "confidential" else "",
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        algorithm=Application.RS256_ALGORITHM,
        **{"redirect_uris": f"{REDIRECT_URI} {OTHER_REDIRECT_URI}", **extra},
    )


def auth_params(**overrides: str) -> dict[str, str]:
    """A valid authorization request for the confidential client."""
    params = {
        "client_id": "conf-client",
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "read",
        "state": "state-123",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def push(
    http: Client,
    params: dict[str, Any] | list[tuple[str, str]],
    client_id: str = "conf-client",
    secret: str | None = SECRET,
    **headers: Any,
) -> Any:
    """POST a push with Basic authentication (secret=None: no Authorization header)."""
    if secret is not None:
        headers.setdefault("HTTP_AUTHORIZATION", basic(client_id, secret))
    body = urlencode(params, doseq=True) if isinstance(params, dict) else urlencode(params)
    return http.post(PUSH_URL, body, content_type="application/x-www-form-urlencoded", **headers)


def pushed_uri(http: Client, **overrides: str) -> str:
    response = push(http, auth_params(**overrides))
    assert response.status_code == 201, response.content
    return response.json()["request_uri"]


def authorize_url(request_uri: str, client_id: str = "conf-client", **extra: str) -> str:
    return AUTHORIZE_URL + "?" + urlencode({"client_id": client_id, "request_uri": request_uri, **extra})


def key_push(http: Client, client_id: str = "key-client", token: str | None = None, **params: Any) -> Any:
    """A push that authenticates with a ``private_key_jwt`` assertion instead of a secret."""
    from . import signing

    token = token or signing.assertion(client_id, aud=signing.PAR_ENDPOINT)
    body = {**auth_params(client_id=client_id), **params, **signing.assertion_params(client_id, token)}
    return push(http, {k: v for k, v in body.items() if v is not None}, secret=None)


# The browser at the authorization endpoint -------------------------------------------------


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def redirect_params(response: Any) -> dict[str, str]:
    """The query parameters of a redirect to the client."""
    location = response["Location"]
    return {key: values[0] for key, values in parse_qs(urlparse(location).query).items()}


class FormParser(HTMLParser):
    """The successful controls of every form in a page, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._select: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"attrs": attributes, "fields": [], "names": []})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = attributes.get("name")
        if tag == "input" and name:
            self.forms[-1]["names"].append(name)
            kind = attributes.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    fields.append((name, attributes.get("value") or "on"))
                return
            fields.append((name, attributes.get("value", "")))
        elif tag == "select" and name:
            self.forms[-1]["names"].append(name)
            self._select = {"name": name, "first": None, "selected": [], "multiple": "multiple" in attributes}
        elif tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attributes:
                self._select["selected"].append(value)
        elif tag == "textarea" and name:
            self.forms[-1]["names"].append(name)
            self._textarea = {"name": name, "text": ""}

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            select = self._select
            values = select["selected"] or (
                [] if select["multiple"] or select["first"] is None else [select["first"]]
            )
            self.forms[-1]["fields"].extend((select["name"], value) for value in values)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"]
            self.forms[-1]["fields"].append((self._textarea["name"], text[1:] if text[:1] == "\n" else text))
            self._textarea = None


def page_forms(response: Any) -> list[dict[str, Any]]:
    parser = FormParser()
    parser.feed(response.content.decode())
    return parser.forms


def consent_fields(response: Any) -> dict[str, str]:
    """What the stock consent form submits (hidden fields and CSRF token), as a dict."""
    forms = [form for form in page_forms(response) if form["attrs"].get("id") == "authorizationForm"]
    assert len(forms) == 1, response.content.decode()
    assert "action" not in forms[0]["attrs"], "the stock form posts back to the current URL"
    return dict(forms[0]["fields"])


def assert_login_redirect(response: Any, request_uri: str, client_id: str = "conf-client") -> str:
    """A redirect to the login page whose ``next`` names only the client and the reference."""
    assert response.status_code == 302, response.content
    location = response["Location"]
    parsed = urlparse(location)
    assert parsed.path == LOGIN_PATH
    query = parse_qs(parsed.query)
    assert set(query) == {"next"}
    next_url = urlparse(query["next"][0])
    assert next_url.path == AUTHORIZE_URL
    assert parse_qs(next_url.query) == {"client_id": [client_id], "request_uri": [request_uri]}
    return location


def log_in_through_form(browser: Client, login_location: str, password: str = PASSWORD) -> Any:
    """GET the login page the server sent us to, then submit its form as a browser would."""
    page = browser.get(login_location)
    assert page.status_code == 200
    forms = [form for form in page_forms(page) if form["attrs"].get("action") == LOGIN_PATH]
    assert len(forms) == 1
    data = dict(forms[0]["fields"])
    data.update(username="alice", password=password)
    response = browser.post(LOGIN_PATH, data)
    assert response.status_code == 302, response.content
    return response


def consent(browser: Client, url: str, allow: bool = True, **overrides: str) -> Any:
    """Show the consent page at ``url`` and submit it (optionally tampered) to the same URL."""
    page = browser.get(url)
    assert page.status_code == 200, page.content
    data = consent_fields(page)
    data.update(overrides)
    if allow:
        data["allow"] = "Authorize"
    return browser.post(url, data)


def code_from(response: Any, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """The parameters of a redirect to ``redirect_uri``; asserts it is one."""
    assert response.status_code == 302, response.content
    location = response["Location"]
    parsed = urlparse(location)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == redirect_uri, location
    return redirect_params(response)


def form_post(http: Client, url: str, data: dict[str, Any], **headers: Any) -> Any:
    """POST ``data`` form-encoded, as RFC 6749 §3.2, RFC 7009 and RFC 7662 ask of token-endpoint clients."""
    return http.post(
        url, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded", **headers
    )


def exchange(http: Client, code: str, verifier: str = VERIFIER, client_id: str = "conf-client") -> Any:
    return form_post(
        http,
        TOKEN_URL,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic(client_id, SECRET),
    )


def assert_error_page(response: Any, error: str | None = None) -> None:
    """An error page for the browser: 400, HTML, no redirect anywhere."""
    assert response.status_code == 400, (response.status_code, response.get("Location"))
    assert not response.has_header("Location")
    assert response["Content-Type"].startswith("text/html")
    if error is not None:
        assert error in response.content.decode()


def csrf_for(browser: Client) -> str:
    """A CSRF token for the browser's current session, taken from a page that shows one."""
    return csrf_token(browser.get(LOGIN_PATH).content.decode())


def blind_post(browser: Client, url: str) -> Any:
    """A consent POST made without ever seeing a consent page (valid CSRF token, allow)."""
    return browser.post(url, {"csrfmiddlewaretoken": csrf_for(browser), "allow": "Authorize"})


def expire(request_uri_count: int = 1) -> None:
    from django_oauth_par.models import PushedRequest

    past = timezone.now() - timedelta(minutes=10)
    updated = PushedRequest.objects.update(created_at=past - timedelta(seconds=60), expires_at=past)
    assert updated == request_uri_count


def classic_url(**overrides: str) -> str:
    return AUTHORIZE_URL + "?" + urlencode(auth_params(**overrides))


# Caches and threads -------------------------------------------------------------------------


#: The Redis of the tests that need a real shared cache (test_throttling.py counts in one of its own).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")


def private_redis_cache(location: str) -> dict[str, Any]:
    """A Redis cache entry of this test's own.

    Its keys carry a fresh prefix, so test runs sharing one Redis (the version matrix runs two
    suites at once) never see each other's counters or used ``jti`` values, and nothing needs
    emptying: Django's ``clear()`` on Redis would empty the whole database under the other run.
    """
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": location,
        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }


def forget_redis_cache(entry: dict[str, Any]) -> None:
    """Delete the keys a private_redis_cache() entry left behind."""
    import redis

    server = redis.Redis.from_url(entry["LOCATION"])
    for key in server.scan_iter(match=f"{entry['KEY_PREFIX']}:*"):
        server.delete(key)


#: How many requests the concurrency tests send at once.
THREADS = 40


def concurrently(count: int, send: Callable[[Client], Any]) -> list[Any]:
    """``send`` from ``count`` threads with clients of their own, all released at once."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            http = Client(raise_request_exception=False)
            barrier.wait(timeout=30)
            results[index] = send(http)
        except BaseException as error:  # noqa: BLE001 - reported by the assertions
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


# Processes of their own ----------------------------------------------------------------------


def start_wsgi_application(tmp_path: Path, settings_text: str) -> subprocess.CompletedProcess[str]:
    """Build the WSGI application in a new process, as gunicorn or uwsgi do (no system checks).

    ``settings_text`` is appended to a settings module that starts from the suite's own.
    """
    (tmp_path / "startup_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n" + textwrap.dedent(settings_text), encoding="utf-8"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "startup_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }
    return subprocess.run(
        [sys.executable, "-c", "from django.core.wsgi import get_wsgi_application; get_wsgi_application()"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# A cache that is down -----------------------------------------------------------------------


class BrokenCache(BaseCache):
    """A cache backend whose every operation fails, as one whose server is down."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache server unreachable")

    add = get = set = incr = decr = delete = delete_many = touch = has_key = clear = _fail


BROKEN_CACHES = [
    pytest.param(
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/2"},
        id="redis-down",
    ),
    pytest.param({"BACKEND": "tests.helpers.BrokenCache"}, id="backend-raising"),
]
