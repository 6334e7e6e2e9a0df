from __future__ import annotations

from .helpers import auth_params, push


def test_push_returns_reference(client, confidential):
    response = push(client, auth_params())
    assert response.status_code == 201
    body = response.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert body["expires_in"] == 60
    assert response["Cache-Control"] == "no-store"
