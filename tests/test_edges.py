"""Edges: new settings' validation, responses the metadata hook must leave alone, odd bodies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import RequestFactory, override_settings

from django_oauth_par import checks
from django_oauth_par.metadata import add_par_metadata
from django_oauth_par.models import PushedRequest

from .helpers import AUTHORIZE_URL, auth_params, push


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PUSH_RATE", "sixty/minute"),
        ("PUSH_RATE", "60/fortnight"),
        ("PUSH_RATE", "0/minute"),
        ("PUSH_RATE", 60),
        ("FAILED_AUTHENTICATION_RATE", "10"),
        ("VERIFIED_SECRET_CACHE_SECONDS", -1),
        ("VERIFIED_SECRET_CACHE_SECONDS", "300"),
        ("CACHE_ALIAS", "no-such-cache"),
    ],
)
def test_bad_values_of_the_newer_settings_are_reported(name, value):
    with override_settings(OAUTH2_PAR={name: value}):
        assert [message.id for message in checks.check_settings()] == ["oauth_par.E004"]


@pytest.mark.parametrize("rate", ["60/minute", "5/s", "1000/hour", "10000/day", None])
def test_good_rates_pass(rate):
    with override_settings(OAUTH2_PAR={"PUSH_RATE": rate, "FAILED_AUTHENTICATION_RATE": rate}):
        assert checks.check_settings() == []


@pytest.mark.parametrize(
    "value", [{"PUSH_RATE": "not a rate"}, {"CACHE_ALIAS": "missing", "PUSH_RATE": "5/minute"}]
)
def test_bad_rate_and_cache_are_refused_at_run_time(client, confidential, value):
    with override_settings(OAUTH2_PAR=value), pytest.raises(ImproperlyConfigured, match=r"RATE|ALIAS"):
        push(client, auth_params())
    assert not PushedRequest.objects.exists()


@pytest.mark.parametrize(
    "response",
    [
        HttpResponse("<html></html>", content_type="text/html"),
        HttpResponse("{not json", content_type="application/json"),
        JsonResponse([1, 2, 3], safe=False),
        JsonResponse({"error": "nope"}, status=404),
        StreamingHttpResponse(iter([b"{}"]), content_type="application/json"),
    ],
    ids=["html", "broken-json", "json-list", "not-200", "streaming"],
)
def test_metadata_hook_leaves_other_responses_untouched(response):
    request = RequestFactory().get("/.well-known/oauth-authorization-server")
    before = b"".join(response) if response.streaming else response.content
    result = add_par_metadata(request, response)
    assert result is response
    if not response.streaming:
        assert result.content == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nbroken"),
        ("application/x-www-form-urlencoded; charset=x-no-such-charset", b"client_id=a"),
    ],
    ids=["broken-multipart", "unknown-charset"],
)
def test_unreadable_authorization_posts_never_answer_500(client, confidential, content_type, body):
    response = client.generic("POST", AUTHORIZE_URL, body, content_type=content_type)
    assert response.status_code < 500
    if response.has_header("Location"):
        assert response["Location"].startswith("/accounts/login/")


@override_settings(OAUTH2_PAR={"VERIFIED_SECRET_CACHE_SECONDS": 60})
def test_plain_secrets_are_checked_directly_with_the_cache_on(client, db):
    from oauth2_provider.models import get_application_model

    get_application_model().objects.create(
        client_id="plain-client",
        client_secret="plain-secret",
        hash_client_secret=False,
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris="https://rp.example/callback",
        name="plain",
    )
    params = auth_params(client_id="plain-client")
    assert push(client, params, client_id="plain-client", secret="plain-secret").status_code == 201
    assert push(client, params, client_id="plain-client", secret="wrong").status_code == 401


@override_settings(OAUTH2_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True})
def test_unreadable_post_when_par_is_required_is_a_400_page(client, confidential):
    body = b"client_id=conf-client"
    content_type = "application/x-www-form-urlencoded; charset=x-no-such-charset"
    response = client.generic("POST", AUTHORIZE_URL, body, content_type=content_type)
    assert response.status_code == 400
    assert not response.has_header("Location")


def test_deploy_check_asks_for_throttling():
    assert "oauth_par.W004" in [m.id for m in checks.check_deployment()]


def test_deploy_check_wants_a_shared_cache_for_single_use_jti():
    # The example project's validator accepts private_key_jwt: jti values must be shared.
    assert [m.id for m in checks.check_deployment()] == ["oauth_par.W004", "oauth_par.W005"]


@override_settings(OAUTH2_PAR={"FAILED_AUTHENTICATION_RATE": "30/minute"})
def test_deploy_check_warns_about_per_process_counters():
    assert [m.id for m in checks.check_deployment()] == ["oauth_par.W005"]


@override_settings(
    OAUTH2_PAR={"FAILED_AUTHENTICATION_RATE": "30/minute"},
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}},
)
def test_deploy_check_is_content_with_a_shared_cache_and_a_rate():
    assert checks.check_deployment() == []
