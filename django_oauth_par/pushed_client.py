"""Hands DOT's validator the client as this app already loaded it, or loads it with its policy."""

from __future__ import annotations

from contextlib import suppress
from contextvars import ContextVar
from typing import Any

from oauth2_provider.models import get_application_model

from .models import POLICY


class ClientWithPolicyMixin:
    """Loads the client together with its PAR policy: the push reads both, in one query.

    DOT's ``_load_application`` then finds the client on the oauthlib request and only
    checks it; an unknown ``client_id`` is left to DOT, which refuses it as before.
    """

    def _load_application(self, client_id: str, request: Any) -> Any:
        if request.client is None and client_id:
            applications = get_application_model()
            # get(), not first(): client_id is unique, and first() would add an ORDER BY. An unknown
            # client is left to DOT, which refuses it.
            with suppress(applications.DoesNotExist):
                request.client = applications.objects.select_related(POLICY).get(client_id=client_id)
        return super()._load_application(client_id, request)  # type: ignore[misc]


class PushedApplicationMixin:
    """Hands DOT's validator the client that resolving the reference already loaded, saving it a query.

    The authorization view sets :data:`pushed_application` while it serves a pushed
    request. DOT's ``_load_application`` then finds the client on the oauthlib request
    and only checks it (same ``client_id``, still usable) instead of reading it again.
    """

    def _load_application(self, client_id: str, request: Any) -> Any:
        application = pushed_application.get()
        if application is not None and request.client is None and application.client_id == client_id:
            request.client = application
        return super()._load_application(client_id, request)  # type: ignore[misc]


#: The client of the pushed request being served, for :class:`PushedApplicationMixin`.
pushed_application: ContextVar[Any] = ContextVar("pushed_application", default=None)
