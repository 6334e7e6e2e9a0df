from __future__ import annotations

import base64
import hashlib
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from oauth2_provider.models import get_application_model

Application = get_application_model()

REDIRECT_URI = "https://rp.example/callback"
OTHER_REDIRECT_URI = "https://rp.example/other"
SECRET = "s3cret-of-the-confidential-client"
VERIFIER = "v" * 64
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
PUSH_URL = "/o/par/"
AUTHORIZE_URL = "/o/authorize/"
TOKEN_URL = "/o/token/"


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


@pytest.fixture
def confidential(db: Any) -> Any:
    return make_client("conf-client")


@pytest.fixture
def public(db: Any) -> Any:
    return make_client("public-client", client_type="public")


@pytest.fixture
def other_client(db: Any) -> Any:
    return make_client("other-client")


@pytest.fixture
def user(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", password="alice-password")


@pytest.fixture
def browser() -> Client:
    """The end user's browser: CSRF is enforced as in production."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def signed_in(browser: Client, user: Any) -> Client:
    browser.force_login(user)
    return browser


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


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def redirect_params(response: Any) -> dict[str, str]:
    """The query parameters of a redirect to the client."""
    location = response["Location"]
    return {key: values[0] for key, values in parse_qs(urlparse(location).query).items()}


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


@pytest.fixture(autouse=True)
def fresh_caches() -> Any:
    """Rate counters and verified secrets live in the cache: no test sees another's."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    yield


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Everything under tests/e2e is an end-to-end test (marker ``e2e``), chosen with ``-m e2e``."""
    e2e = Path(__file__).parent / "e2e"
    for item in items:
        if e2e in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
