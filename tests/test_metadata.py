"""What this app adds to DOT's discovery documents: the PAR endpoint where it is routed, and the
"PAR required" switch, in RFC 8414 metadata and OpenID Connect discovery (RFC 9126 §5)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from .helpers import auth_params, push

RFC8414_URL = "/.well-known/oauth-authorization-server/o"
OIDC_URL = "/o/.well-known/openid-configuration"
METADATA_URLS = [RFC8414_URL, OIDC_URL]


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_announces_push_endpoint(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    document = response.json()
    endpoint = document["pushed_authorization_request_endpoint"]
    parsed = urlparse(endpoint)
    assert parsed.scheme in ("http", "https")
    assert parsed.netloc
    assert parsed.path.endswith("/o/par/")
    assert endpoint == "http://testserver/o/par/"
    assert document["require_pushed_authorization_requests"] is False
    # The document DOT builds is otherwise intact.
    assert document["token_endpoint"] == "http://testserver/o/token/"
    assert document["authorization_endpoint"] == "http://testserver/o/authorize/"


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_endpoint_is_the_routed_push_url(client, confidential, url):
    endpoint = client.get(url).json()["pushed_authorization_request_endpoint"]
    response = push(client, auth_params())
    assert response.status_code == 201
    assert urlparse(endpoint).path == response.request["PATH_INFO"]


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_endpoint_is_https_over_https(client, db, url):
    document = client.get(url, secure=True).json()
    assert document["pushed_authorization_request_endpoint"] == "https://testserver/o/par/"


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_require_flag_follows_server_switch(client, db, url):
    with override_settings(OAUTH2_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True}):
        document = client.get(url).json()
    assert document["require_pushed_authorization_requests"] is True
    with override_settings(OAUTH2_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": False}):
        document = client.get(url).json()
    assert document["require_pushed_authorization_requests"] is False


@pytest.mark.parametrize("url", METADATA_URLS)
@pytest.mark.parametrize("bad", ["yes", 1, "true", None])
def test_metadata_refuses_an_invalid_require_flag(client, db, url, bad):
    # Never announced as False: an invalid switch stops the request, as it stops start-up.
    bad_flag = override_settings(OAUTH2_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": bad})
    with bad_flag, pytest.raises(ImproperlyConfigured, match="REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"):
        client.get(url)


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_content_length_matches(client, db, url):
    response = client.get(url)
    assert int(response["Content-Length"]) == len(response.content)


def test_metadata_without_routed_endpoint_does_not_announce_it(client, db):
    with override_settings(ROOT_URLCONF="tests.unrouted_urls"):
        response = client.get(RFC8414_URL)
        assert response.status_code == 200
        document = response.json()
        assert "pushed_authorization_request_endpoint" not in document
        assert document["require_pushed_authorization_requests"] is False
        assert client.post("/o/par/").status_code == 404
