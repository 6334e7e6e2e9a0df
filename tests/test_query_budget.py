"""Database queries per request: a push costs at most 3, a redemption adds at most 3.

Counted with Django's CaptureQueriesContext on the real database; the classic request
is the same authorization request sent in the query string. Statements that read or
write data count; transaction control (BEGIN, SAVEPOINT, RELEASE) does not, since it
depends on whether the test itself runs inside a transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from .conftest import AUTHORIZE_URL, auth_params, authorize_url, push, pushed_uri
from .test_authorize import consent_fields

PUSH_BUDGET = 3
REDEMPTION_BUDGET = 3
DATA_STATEMENTS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}


@pytest.fixture
def browser(user: Any) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def queries(call: Any) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    statements = [query["sql"].lstrip().split(None, 1)[0].upper() for query in captured.captured_queries]
    return response, sum(1 for verb in statements if verb in DATA_STATEMENTS)


def test_a_push_costs_at_most_three_queries(client, confidential):
    push(client, auth_params())  # warm: first-use caches are not what this measures
    response, count = queries(lambda: push(client, auth_params()))
    assert response.status_code == 201
    assert count <= PUSH_BUDGET


def test_the_consent_page_costs_at_most_three_more_than_classic(client, browser, confidential):
    classic, classic_count = queries(lambda: browser.get(AUTHORIZE_URL, auth_params()))
    assert classic.status_code == 200
    url = authorize_url(pushed_uri(client))
    pushed, pushed_count = queries(lambda: browser.get(url))
    assert pushed.status_code == 200
    assert pushed_count - classic_count <= REDEMPTION_BUDGET


def test_the_consent_post_costs_at_most_three_more_than_classic(client, browser, confidential):
    classic_url = AUTHORIZE_URL + "?" + "&".join(f"{k}={v}" for k, v in auth_params().items())
    page = browser.get(classic_url)
    data = {**consent_fields(page), "allow": "Authorize"}
    classic, classic_count = queries(lambda: browser.post(classic_url, data))
    assert classic.status_code == 302 and "code=" in classic["Location"]

    url = authorize_url(pushed_uri(client))
    data = {**consent_fields(browser.get(url)), "allow": "Authorize"}
    pushed, pushed_count = queries(lambda: browser.post(url, data))
    assert pushed.status_code == 302 and "code=" in pushed["Location"]
    assert pushed_count - classic_count <= REDEMPTION_BUDGET
