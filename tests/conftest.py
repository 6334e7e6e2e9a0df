"""Fixtures and pytest hooks of the suite; the helpers the test files share are in helpers.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

# CHALLENGE and basic are read from here by bench/signed_push.py.
from .helpers import CHALLENGE as CHALLENGE
from .helpers import PASSWORD, make_client
from .helpers import basic as basic


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
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def browser() -> Client:
    """The end user's browser: CSRF is enforced as in production."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def signed_in(browser: Client, user: Any) -> Client:
    browser.force_login(user)
    return browser


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
