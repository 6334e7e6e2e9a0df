"""Database queries per request: a push costs at most 2, a redemption adds at most 3, and the
audit chain adds at most 10 writes to a whole login.

Counted with Django's CaptureQueriesContext on the real database; the classic request
is the same authorization request sent in the query string. Statements that read or
write data count; transaction control (BEGIN, SAVEPOINT, RELEASE) does not, since it
depends on whether the test itself runs inside a transaction. The budgets of PAR itself
are measured with the audit trail off; the chain's own cost is measured apart.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from .helpers import (
    AUTHORIZE_URL,
    auth_params,
    authorize_url,
    code_from,
    consent_fields,
    exchange,
    push,
    pushed_uri,
)

#: The client with its policy, in one query, and the insert.
PUSH_BUDGET = 2
REDEMPTION_BUDGET = 3
DATA_STATEMENTS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}
WRITE_STATEMENTS = {"INSERT", "UPDATE", "DELETE"}
#: The audit chain of one login: the chain and its pushed event (push); consent_shown (consent
#: page); decided, code_issued, redeemed, the chain's outcome and the code's GrantedAuthorization
#: row (approval); the token's GrantedAuthorization row and token_issued (code exchange).
CHAIN_WRITES = 10
#: The code exchange looks up the code's GrantedAuthorization row.
CHAIN_READS = 1


@pytest.fixture(autouse=True)
def audit_trail_off(settings: Any, request: Any) -> None:
    if "chain" not in request.node.name:
        settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUDIT_TRAIL": False}


@pytest.fixture
def browser(user: Any) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def queries(call: Any, verbs: set[str] = DATA_STATEMENTS) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    statements = [query["sql"].lstrip().split(None, 1)[0].upper() for query in captured.captured_queries]
    return response, sum(1 for verb in statements if verb in verbs)


def test_a_push_costs_at_most_two_queries(client, confidential):
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


def login_statements(client: Client, browser: Client, verbs: set[str]) -> int:
    """Statements of one whole login: push, consent page, approval, code exchange."""
    total = 0
    response, count = queries(lambda: push(client, auth_params()), verbs)
    total += count
    url = authorize_url(response.json()["request_uri"])
    page, count = queries(lambda: browser.get(url), verbs)
    total += count
    data = {**consent_fields(page), "allow": "Authorize"}
    answer, count = queries(lambda: browser.post(url, data), verbs)
    total += count
    code = code_from(answer)["code"]
    tokens, count = queries(lambda: exchange(client, code), verbs)
    assert tokens.status_code == 200, tokens.content
    return total + count


def test_the_audit_chain_adds_at_most_ten_writes_and_one_read_per_login(
    client, browser, confidential, settings
):
    login_statements(client, browser, DATA_STATEMENTS)  # warm
    with_chain_writes = login_statements(client, browser, WRITE_STATEMENTS)
    with_chain_all = login_statements(client, browser, DATA_STATEMENTS)
    # Without the trail and without registered types, DOT's token endpoint runs untouched.
    settings.OAUTH2_PAR = {**settings.OAUTH2_PAR, "AUDIT_TRAIL": False, "AUTHORIZATION_DETAILS_TYPES": {}}
    without_writes = login_statements(client, browser, WRITE_STATEMENTS)
    without_all = login_statements(client, browser, DATA_STATEMENTS)
    assert 0 < with_chain_writes - without_writes <= CHAIN_WRITES
    assert (with_chain_all - without_all) - (with_chain_writes - without_writes) <= CHAIN_READS
