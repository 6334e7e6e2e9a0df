"""Collected only by tests/test_swapped.py, which runs it under tests.swapped.settings."""

from __future__ import annotations

from django.contrib import admin
from oauth2_provider.models import get_application_model

from django_oauth_par.admin import ClientPolicyInline
from django_oauth_par.models import ClientPolicy
from tests.helpers import auth_params, authorize_url, make_client, push

from .admin_classes import PartnerApplicationAdmin


def test_swapped_model_is_in_use(db):
    assert get_application_model()._meta.label == "swapped.PartnerApplication"


def test_custom_admin_class_keeps_its_behaviour_and_gains_the_switch(db):
    registered = admin.site._registry[get_application_model()]
    assert isinstance(registered, PartnerApplicationAdmin)
    assert registered.list_display == ("name", "client_id", "partner_code")
    assert ClientPolicyInline in registered.inlines


def test_par_flow_and_policy_with_swapped_model(client, db):
    app = make_client("conf-client")
    response = push(client, auth_params())
    assert response.status_code == 201
    request_uri = response.json()["request_uri"]
    assert client.get(authorize_url(request_uri)).status_code == 302  # to login

    ClientPolicy.objects.create(application=app, require_pushed_authorization_requests=True)
    classic = client.get("/o/authorize/", auth_params())
    assert classic.status_code == 400
    assert b"invalid_request" in classic.content
