"""Key-based clients over HTTP: private_key_jwt at PAR and at DOT's endpoints, one method each."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings

from django_oauth_par.models import ClientPolicy, PushedRequest
from django_oauth_par.registration import dot_has_client_keys

from . import signing
from .helpers import (
    BROKEN_CACHES,
    REDIRECT_URI,
    REDIS_URL,
    SECRET,
    TOKEN_URL,
    VERIFIER,
    auth_params,
    authorize_url,
    basic,
    code_from,
    consent,
    key_push,
    make_client,
    page_forms,
    private_redis_cache,
    push,
)
from .keyserver import KeyServer, running
from .signing import (
    assertion,
    assertion_params,
    make_key_client,
    only_where_this_app_verifies_keys,
    our_words,
    private_key,
    public_set,
    register,
    register_keys,
)

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    yield from running()


def assert_invalid_client(response: Any, match: str = "") -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    assert match in response.json()["error_description"]


# --- private_key_jwt at the PAR endpoint ---------------------------------------------------------


@only_where_this_app_verifies_keys
@pytest.mark.parametrize(
    ("kind", "alg"), [("EC", "ES256"), ("RSA", "PS256"), ("RSA", "RS256"), ("OKP", "EdDSA")]
)
def test_a_key_client_pushes_with_each_allowed_algorithm(client, db, kind, alg):
    make_key_client()
    response = key_push(
        client, token=assertion("key-client", private_key(kind), alg, aud=signing.PAR_ENDPOINT)
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "aud",
    [
        signing.ISSUER,
        signing.TOKEN_ENDPOINT,
        signing.PAR_ENDPOINT,
    ],
)
def test_the_issuer_the_token_endpoint_and_the_par_endpoint_are_each_accepted(client, db, aud):
    make_key_client()
    assert key_push(client, token=assertion("key-client", aud=aud)).status_code == 201


@pytest.mark.parametrize(
    "aud",
    [
        "http://testserver/o/revoke_token/",
        "http://testserver/o/authorize/",
        "http://elsewhere.example/o/token/",
        "https://testserver/o/token/",
        ["http://testserver/o/introspect/", "http://testserver/"],
    ],
)
def test_another_url_of_this_server_is_no_audience_at_the_par_endpoint(client, db, aud):
    """Only the issuer, the token endpoint and the PAR endpoint name this server here (RFC 9126 §2)."""
    make_key_client()
    assert key_push(client, token=assertion("key-client", aud=aud)).status_code == 401
    assert not PushedRequest.objects.exists()


def test_an_audience_array_naming_this_server_once_is_accepted(client, db):
    make_key_client()
    token = assertion("key-client", aud=["https://elsewhere.example/", signing.TOKEN_ENDPOINT])
    assert key_push(client, token=token).status_code == 201


@pytest.mark.parametrize(
    "metadata", ["/.well-known/oauth-authorization-server/o", "/o/.well-known/openid-configuration"]
)
def test_the_issuer_each_document_announces_is_accepted(client, db, metadata):
    issuer = client.get(metadata).json()["issuer"]
    make_key_client()
    assert key_push(client, token=assertion("key-client", aud=issuer)).status_code == 201


@pytest.mark.urls("tests.root_metadata_urls")
def test_a_bare_root_metadata_documents_issuer_is_accepted_too(client, db):
    """Served at the bare root, DOT's RFC 8414 document names the origin as issuer."""
    issuer = client.get("/.well-known/oauth-authorization-server").json()["issuer"]
    assert issuer == "http://testserver"
    make_key_client()
    assert key_push(client, token=assertion("key-client", aud=issuer)).status_code == 201
    refused = key_push(client, token=assertion("key-client", aud="http://testserver/elsewhere"))
    assert refused.status_code == 401


@only_where_this_app_verifies_keys
def test_a_replayed_assertion_is_refused_and_stores_nothing(client, db):
    make_key_client()
    token = assertion("key-client", aud=signing.PAR_ENDPOINT)
    assert key_push(client, token=token).status_code == 201
    assert_invalid_client(key_push(client, token=token), "used before")
    assert PushedRequest.objects.count() == 1


@only_where_this_app_verifies_keys
@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"aud": "https://elsewhere.example/"}, "aud"),
        ({"iss": "other-client"}, "iss and sub"),
        ({"exp": 1}, "expired"),
        ({"jti": None}, "jti"),
        ({"lifetime": 3600}, "longer"),
    ],
)
def test_bad_assertions_are_401_invalid_client(client, db, overrides, match):
    make_key_client()
    claims = {"aud": signing.PAR_ENDPOINT, **overrides}
    assert_invalid_client(key_push(client, token=assertion("key-client", **claims)), match)
    assert not PushedRequest.objects.exists()


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        signing.unsigned({"iss": "key-client", "sub": "key-client"}),
        "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
        "x" * 16000,
        "a.b.c.d.e",
    ],
)
def test_malformed_assertions_are_401_never_5xx(client, db, token):
    make_key_client()
    assert_invalid_client(key_push(client, token=token))


def test_an_assertion_for_another_client_is_refused(client, db):
    make_key_client()
    make_key_client("victim-client", private_key("EC", "victim"))
    token = assertion("key-client", aud=signing.PAR_ENDPOINT)
    # The attacker names the victim: the victim's keys do not verify the attacker's signature.
    assert_invalid_client(key_push(client, "victim-client", token=token))


# --- one method per client -----------------------------------------------------------------------


def test_a_key_client_presenting_a_secret_is_refused(client, db):
    app = make_key_client()
    assert app.client_secret  # DOT gave it a secret anyway; it must not work
    assert_invalid_client(
        push(client, auth_params(client_id="key-client"), "key-client", SECRET), our_words("private_key_jwt")
    )
    body = auth_params(client_id="key-client", client_secret=SECRET)
    assert_invalid_client(push(client, body, secret=None), our_words("private_key_jwt"))
    assert not PushedRequest.objects.exists()


def test_a_key_client_presenting_nothing_is_refused(client, db):
    make_key_client(client_type="public")
    assert_invalid_client(push(client, auth_params(client_id="key-client"), secret=None))


def test_a_secret_client_presenting_an_assertion_is_refused(client, confidential):
    register_keys(confidential, private_key("EC"), method="")
    response = key_push(client, "conf-client", token=assertion("conf-client", aud=signing.PAR_ENDPOINT))
    assert_invalid_client(response, our_words("not registered"))
    assert push(client, auth_params()).status_code == 201


def test_a_secret_client_registered_for_basic_is_held_to_it(client, confidential):
    register(confidential, "client_secret_basic")
    assert push(client, auth_params()).status_code == 201
    assert_invalid_client(push(client, auth_params(client_secret=SECRET), secret=None), "another")


def test_an_assertion_and_a_basic_header_together_are_refused(client, db):
    make_key_client()
    token = assertion("key-client", aud=signing.PAR_ENDPOINT)
    body = {**auth_params(client_id="key-client"), **assertion_params("key-client", token)}
    response = push(client, body, "key-client", SECRET)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_public_client_presents_nothing(client, db):
    application = make_client("public-client", client_type="public")
    register(application, "none")
    assert push(client, auth_params(client_id="public-client"), secret=None).status_code == 201
    token = assertion("public-client", aud=signing.PAR_ENDPOINT)
    assert_invalid_client(key_push(client, "public-client", token=token))


# --- racing replays across workers ---------------------------------------------------------------


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.parametrize(
    "backend",
    [
        "locmem",
        pytest.param(
            "redis", marks=pytest.mark.skipif(not redis_available(), reason="no Redis at TEST_REDIS_URL")
        ),
    ],
)
def test_racing_replays_of_one_assertion_store_exactly_one_push(transactional_db, backend):
    if backend == "redis":
        cache = private_redis_cache(REDIS_URL)
    else:
        cache = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    with override_settings(CACHES={"default": cache}):
        make_key_client()
        token = assertion("key-client", aud=signing.PAR_ENDPOINT)
        statuses: list[int] = []
        barrier = threading.Barrier(6)

        def attempt() -> None:
            barrier.wait()
            statuses.append(key_push(Client(), token=token).status_code)

        threads = [threading.Thread(target=attempt) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201, 401, 401, 401, 401, 401]
        assert PushedRequest.objects.count() == 1


# --- keys from jwks_uri --------------------------------------------------------------------------


@only_where_this_app_verifies_keys
@override_settings(OAUTH2_PAR={"JWKS_URI_ALLOW_HTTP": True, "JWKS_FETCH_TIMEOUT": 1})
def test_keys_from_jwks_uri_and_a_key_server_that_fails(client, transactional_db, key_server):
    application = make_client("uri-client")
    ClientPolicy.objects.create(
        application=application, token_endpoint_auth_method="private_key_jwt", jwks_uri=key_server.url
    )
    served = key_server.serve(public_set(private_key("EC")))
    assert key_push(client, "uri-client").status_code == 201
    assert key_push(client, "uri-client").status_code == 201
    assert served.hits == 1

    # A key the server does not publish: one re-fetch, then refusals without asking again.
    stranger = private_key("EC", "rotated-away")
    for _ in range(3):
        token = assertion("uri-client", stranger, aud=signing.PAR_ENDPOINT)
        assert_invalid_client(key_push(client, "uri-client", token=token))
    assert served.hits == 2


@only_where_this_app_verifies_keys
@pytest.mark.parametrize("broken", BROKEN_CACHES)
def test_keys_from_jwks_uri_with_the_cache_down_fail_closed_with_503(
    client, transactional_db, key_server, broken
):
    """The cache bounds the fetches per interval: without it the push is refused, not fetched for."""
    application = make_client("uri-client")
    ClientPolicy.objects.create(
        application=application, token_endpoint_auth_method="private_key_jwt", jwks_uri=key_server.url
    )
    served = key_server.serve(public_set(private_key("EC")))
    client.raise_request_exception = False
    caches_setting = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "par": broken}
    par = {"JWKS_URI_ALLOW_HTTP": True, "JWKS_FETCH_TIMEOUT": 1, "CACHE_ALIAS": "par"}
    with override_settings(CACHES=caches_setting, OAUTH2_PAR=par):
        response = key_push(client, "uri-client")
    assert response.status_code == 503, response.content
    assert response.json()["error"] == "temporarily_unavailable"
    assert served.hits == 0
    assert not PushedRequest.objects.exists()


@only_where_this_app_verifies_keys
@override_settings(OAUTH2_PAR={"JWKS_URI_ALLOW_HTTP": True, "JWKS_FETCH_TIMEOUT": 1})
@pytest.mark.parametrize(
    "behaviour",
    [{"delay": 2}, {"body": b'{"keys":[' + b" " * 200_000 + b"]}"}, {"status": 500}, {"body": b"<html>"}],
    ids=["slow", "huge", "down", "not-json"],
)
def test_a_failing_key_server_gives_401_not_5xx(client, transactional_db, key_server, behaviour):
    application = make_client("uri-client")
    ClientPolicy.objects.create(
        application=application, token_endpoint_auth_method="private_key_jwt", jwks_uri=key_server.url
    )
    key_server.serve(behaviour.pop("body", public_set(private_key("EC"))), **behaviour)
    assert_invalid_client(key_push(client, "uri-client"), "keys")


# --- DOT's endpoints, through the validator mixin ------------------------------------------------


def token_request(http: Client, data: dict[str, str], client_id: str = "key-client", **headers: Any) -> Any:
    return http.post(TOKEN_URL, urlencode(data), content_type=FORM, **headers)


def test_a_key_client_completes_the_whole_flow_through_dot(client, db, user):
    make_key_client()
    response = key_push(client)
    assert response.status_code == 201, response.content
    browser = Client()
    browser.force_login(user)
    code = code_from(consent(browser, authorize_url(response.json()["request_uri"], "key-client")))["code"]
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
    }
    # A secret is refused at the token endpoint too: one method per client, everywhere.
    refused = token_request(client, grant, HTTP_AUTHORIZATION=basic("key-client", SECRET))
    assert refused.status_code == 401
    token = assertion("key-client", aud=signing.TOKEN_ENDPOINT)
    tokens = token_request(client, {**grant, **assertion_params("key-client", token)})
    assert tokens.status_code == 200, tokens.content
    access_token = tokens.json()["access_token"]

    # The same assertion cannot be used twice, at any endpoint.
    replay = token_request(client, {**grant, **assertion_params("key-client", token)})
    assert replay.status_code == 401

    introspect = {"token": access_token, **assertion_params("key-client", assertion("key-client"))}
    answer = client.post("/o/introspect/", urlencode(introspect), content_type=FORM)
    assert answer.status_code == 200, answer.content
    assert answer.json()["active"] is True
    revoke = {"token": access_token, **assertion_params("key-client", assertion("key-client"))}
    assert client.post("/o/revoke_token/", urlencode(revoke), content_type=FORM).status_code == 200


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "a.b.c.d.e", "x" * 20000])
def test_malformed_assertions_at_the_token_endpoint_are_401(client, db, token):
    make_key_client()
    data = {"grant_type": "client_credentials", **assertion_params("key-client", token)}
    response = token_request(client, data)
    assert response.status_code == 401, response.content


def test_a_secret_client_keeps_working_at_the_token_endpoint(client, confidential):
    data = {"grant_type": "client_credentials"}
    response = token_request(client, data, HTTP_AUTHORIZATION=basic("conf-client", SECRET))
    # The client is registered for the authorization code grant only: DOT's answer, not ours.
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "invalid_client")
    assert response.json()["error"] != "invalid_client" or "key" not in response.content.decode()


# --- discovery -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-authorization-server/o", "/o/.well-known/openid-configuration"]
)
def test_both_documents_announce_keys_and_request_objects(client, db, path, settings):
    document = client.get(path).json()
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in document["token_endpoint_auth_methods_supported"]
    # Announced: the algorithms whoever verifies assertions accepts, no more (DOT's take no EdDSA).
    verified = ["RS256", "PS256", "ES256", "EdDSA"]
    if dot_has_client_keys():
        from oauth2_provider.settings import oauth2_settings

        verified = list(oauth2_settings.CLIENT_ASSERTION_PRIVATE_KEY_JWT_ALGS)
        assert "EdDSA" not in verified
    assert document["token_endpoint_auth_signing_alg_values_supported"] == verified
    assert document["request_object_signing_alg_values_supported"] == ["RS256", "PS256", "ES256", "EdDSA"]
    assert document["request_parameter_supported"] is True
    assert "require_signed_request_object" not in document
    settings.OAUTH2_PAR = {"REQUIRE_SIGNED_REQUEST_OBJECT": True, "SIGNING_ALGORITHMS": ["PS256", "ES256"]}
    document = client.get(path).json()
    assert document["require_signed_request_object"] is True
    assert document["request_object_signing_alg_values_supported"] == ["PS256", "ES256"]
    assert "none" not in document["request_object_signing_alg_values_supported"]


@only_where_this_app_verifies_keys
def test_private_key_jwt_is_not_announced_where_the_token_endpoint_lacks_it(client, db, settings):
    from oauth2_provider.settings import oauth2_settings

    settings.OAUTH2_PROVIDER = {
        **oauth2_settings.user_settings,
        "OAUTH2_VALIDATOR_CLASS": "oauth2_provider.oauth2_validators.OAuth2Validator",
    }
    try:
        document = client.get("/.well-known/oauth-authorization-server/o").json()
        assert "private_key_jwt" not in document["token_endpoint_auth_methods_supported"]
        assert document["request_parameter_supported"] is True
    finally:
        oauth2_settings.reload()


# --- the admin -----------------------------------------------------------------------------------


@pytest.fixture
def admin_browser(db: Any) -> Client:
    from django.contrib.auth import get_user_model

    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return browser


def admin_form(browser: Client, application: Any) -> tuple[str, dict[str, list[str]]]:
    url = f"/admin/oauth2_provider/application/{application.pk}/change/"
    page = browser.get(url)
    assert page.status_code == 200
    (form,) = [form for form in page_forms(page) if form["attrs"].get("id") == "application_form"]
    data: dict[str, list[str]] = {}
    for name, value in form["fields"]:
        data.setdefault(name, []).append(value)
    data["_continue"] = ["Save"]
    return url, data


PREFIX = "pushed_authorization_policy-0-"


@only_where_this_app_verifies_keys
def test_a_person_registers_a_key_client_in_the_admin(client, admin_browser):
    application = make_client("admin-key-client")
    url, data = admin_form(admin_browser, application)
    key = private_key("EC", "admin-key")
    data[PREFIX + "token_endpoint_auth_method"] = ["private_key_jwt"]
    data[PREFIX + "jwks"] = [json.dumps({"keys": [json.loads(key.export_public())]}, indent=2)]
    response = admin_browser.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    page = admin_browser.get(url).content.decode()
    assert "admin-key" in page
    assert key.thumbprint() in page

    token = assertion("admin-key-client", key, aud=signing.PAR_ENDPOINT)
    assert key_push(client, "admin-key-client", token=token).status_code == 201


@only_where_this_app_verifies_keys
def test_the_admin_refuses_a_private_key_and_never_shows_or_stores_it(admin_browser):
    application = make_client("admin-key-client")
    url, data = admin_form(admin_browser, application)
    key = private_key("RSA", "leaked")
    data[PREFIX + "token_endpoint_auth_method"] = ["private_key_jwt"]
    data[PREFIX + "jwks"] = [json.dumps({"keys": [json.loads(key.export_private())]})]
    response = admin_browser.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "private or secret key" in page
    private_members = json.loads(key.export_private())
    for member in ("d", "p", "q"):
        assert private_members[member] not in page
    stored = ClientPolicy.objects.filter(application=application).first()
    assert stored is None or private_members["d"] not in stored.jwks


@only_where_this_app_verifies_keys
@override_settings(OAUTH2_PAR={"JWKS_URI_ALLOW_HTTP": True})
def test_atomic_requests_do_not_keep_keys_from_being_fetched(
    client, transactional_db, key_server, monkeypatch
):
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    application = make_client("uri-client")
    ClientPolicy.objects.create(
        application=application, token_endpoint_auth_method="private_key_jwt", jwks_uri=key_server.url
    )
    served = key_server.serve(public_set(private_key("EC")))
    assert key_push(client, "uri-client").status_code == 201
    assert served.hits == 1


@only_where_this_app_verifies_keys
def test_a_person_adds_a_new_key_client_in_one_go(client, admin_browser):
    page = admin_browser.get("/admin/oauth2_provider/application/add/")
    assert page.status_code == 200
    (form,) = [form for form in page_forms(page) if form["attrs"].get("id") == "application_form"]
    data: dict[str, list[str]] = {}
    for name, value in form["fields"]:
        data.setdefault(name, []).append(value)
    key = private_key("EC", "added-key")
    data.update(
        {
            "client_id": ["added-key-client"],
            "name": ["added by a person"],
            "client_type": ["confidential"],
            "authorization_grant_type": ["authorization-code"],
            "redirect_uris": [REDIRECT_URI],
            "algorithm": ["RS256"],
            PREFIX + "token_endpoint_auth_method": ["private_key_jwt"],
            PREFIX + "jwks": [json.dumps({"keys": [json.loads(key.export_public())]})],
            "_save": ["Save"],
        }
    )
    data.pop("user", None)
    response = admin_browser.post("/admin/oauth2_provider/application/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    token = assertion("added-key-client", key, aud=signing.PAR_ENDPOINT)
    assert key_push(client, "added-key-client", token=token).status_code == 201


@only_where_this_app_verifies_keys
@override_settings(OAUTH2_PAR={"JWKS_URI_ALLOW_HTTP": True})
def test_the_admin_shows_fetched_keys_without_fetching(client, transactional_db, key_server):
    from django.contrib.auth import get_user_model

    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    application = make_client("uri-client")
    ClientPolicy.objects.create(
        application=application, token_endpoint_auth_method="private_key_jwt", jwks_uri=key_server.url
    )
    served = key_server.serve(public_set(private_key("EC", "published")))
    url = f"/admin/oauth2_provider/application/{application.pk}/change/"
    assert "when first needed" in browser.get(url).content.decode()
    assert served.hits == 0
    assert (
        key_push(
            client, "uri-client", token=assertion("uri-client", private_key("EC", "published"))
        ).status_code
        == 201
    )
    page = browser.get(url).content.decode()
    assert private_key("EC", "published").thumbprint() in page
    assert served.hits == 1
