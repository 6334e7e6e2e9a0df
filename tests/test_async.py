"""The middleware under ASGI: Django's async request path runs it as it runs the sync one."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient, Client

from .helpers import auth_params, authorize_url, push


@pytest.mark.django_db(transaction=True)
def test_pushed_request_through_the_asgi_handler(confidential, user):
    async_to_sync(scenario)(user)


async def scenario(user):
    response = await sync_to_async(push)(Client(), auth_params(state="async-state-marker"))
    request_uri = response.json()["request_uri"]
    browser = AsyncClient()

    anonymous = await browser.get(authorize_url(request_uri))
    assert anonymous.status_code == 302
    login = unquote(unquote(anonymous["Location"]))
    assert request_uri in login
    assert "async-state-marker" not in login

    await sync_to_async(browser.force_login)(user)
    page = await browser.get(authorize_url(request_uri))
    assert page.status_code == 200
    assert b"async-state-marker" not in page.content

    unknown = await browser.get(authorize_url(request_uri + "x"))
    assert unknown.status_code == 400
