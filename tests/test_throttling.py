"""Push rates (PUSH_RATE) and failed-authentication rates (FAILED_AUTHENTICATION_RATE)."""

from __future__ import annotations

from django.test import override_settings

from django_oauth_par.models import PushedRequest

from .conftest import SECRET, auth_params, make_client, push
from .hashers import CountingHasher


@override_settings(OAUTH2_PAR={"PUSH_RATE": "3/minute"})
def test_a_client_pushing_too_fast_gets_429_with_retry_after(client, confidential):
    statuses = [push(client, auth_params()).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    stored = PushedRequest.objects.count()
    response = push(client, auth_params())
    assert response.status_code == 429
    assert response.json()["error"] == "invalid_request"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["Cache-Control"] == "no-store"
    assert PushedRequest.objects.count() == stored


@override_settings(OAUTH2_PAR={"PUSH_RATE": "2/minute"})
def test_the_push_rate_is_per_client(client, confidential):
    make_client("second-client")
    assert [push(client, auth_params()).status_code for _ in range(3)] == [201, 201, 429]
    params = auth_params(client_id="second-client")
    assert push(client, params, client_id="second-client").status_code == 201


def test_no_push_rate_by_default(client, confidential):
    assert {push(client, auth_params()).status_code for _ in range(20)} == {201}


@override_settings(
    OAUTH2_PAR={"FAILED_AUTHENTICATION_RATE": "3/minute"}, PASSWORD_HASHERS=["tests.hashers.CountingHasher"]
)
def test_an_address_guessing_secrets_is_stopped_before_any_hash(client, db):
    make_client("conf-client")
    CountingHasher.verifications = 0
    guesses = [push(client, auth_params(), secret=f"guess-{n}").status_code for n in range(3)]
    assert guesses == [401, 401, 401]
    assert CountingHasher.verifications == 3
    refused = push(client, auth_params(), secret=SECRET)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert CountingHasher.verifications == 3  # the right secret was not even hashed
    other_address = push(client, auth_params(), secret=SECRET, REMOTE_ADDR="198.51.100.7")
    assert other_address.status_code == 201


@override_settings(OAUTH2_PAR={"FAILED_AUTHENTICATION_RATE": "2/minute"})
def test_successful_pushes_do_not_count_as_failures(client, confidential):
    assert {push(client, auth_params()).status_code for _ in range(5)} == {201}
