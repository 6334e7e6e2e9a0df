"""The middleware that makes DOT's authorization endpoint honour pushed requests.

It never raises on client input: every refusal is an error page (authorization
endpoint) and every other request passes through untouched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils.deprecation import MiddlewareMixin

from . import audit
from .authorization import pushed_view_class, short_query
from .compat import AuthorizationView
from .exceptions import UNAVAILABLE, ParError
from .metadata import add_par_metadata, is_metadata_view
from .pages import error_page
from .redemption import par_required, redeem

log = logging.getLogger("django_oauth_par")


class PushedAuthorizationMiddleware(MiddlewareMixin):
    """Sync and async capable (through ``MiddlewareMixin``)."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        view_class = getattr(view_func, "view_class", None)
        if not isinstance(view_class, type):
            return None
        if is_metadata_view(view_class):
            request._oauth_par_metadata = True  # type: ignore[attr-defined]
            return None
        if not issubclass(view_class, AuthorizationView):
            return None
        if not well_formed_query(request):
            # oauthlib raises on bad escapes and PostgreSQL on NUL characters: refuse them here.
            return error_page(request, ParError("invalid_request", "The query string is malformed."))
        try:
            if "request_uri" not in request.GET:
                return self.refuse_unpushed(request)
            pushed = redeem(request)
        except ParError as error:
            return error_page(request, error)
        except DatabaseError:
            log.exception("authorization request failed: database error")
            return error_page(request, UNAVAILABLE)
        # From here on the pushed parameters are the request. The query string keeps only
        # the reference, so every URL built from it (login's next, prompt handling) leaks nothing.
        request.META["QUERY_STRING"] = short_query(pushed.application.client_id, request.GET["request_uri"])
        query = QueryDict(mutable=True)
        for name, value in pushed.parameter_pairs:
            query.appendlist(name, value)
        query._mutable = False
        request.GET = query
        request.pushed_authorization_request = pushed  # type: ignore[attr-defined]
        view = pushed_view_class(view_class).as_view(**getattr(view_func, "view_initkwargs", {}))
        return view(request, *view_args, **view_kwargs)

    def refuse_unpushed(self, request: HttpRequest) -> HttpResponse | None:
        client_ids = request.GET.getlist("client_id")
        if request.method == "POST":
            try:
                client_ids += request.POST.getlist("client_id")
            except (
                BadRequest,
                MultiPartParserError,
                RequestDataTooBig,
                SuspiciousOperation,
                LookupError,
                ValueError,
            ):
                return error_page(request, ParError("invalid_request", "The request body cannot be read."))
        if any("\x00" in client_id for client_id in client_ids):
            return error_page(request, ParError("invalid_request", "The client_id is malformed."))
        if not par_required(client_ids):
            return None
        error = ParError(
            "invalid_request",
            "This client must push its authorization request to the pushed authorization request "
            "endpoint first.",
            reason="par_required",
        )
        error.client_id = next((client_id for client_id in client_ids if client_id), None)
        audit.rejected(request, "authorization", error)
        return error_page(request, error)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if getattr(request, "_oauth_par_metadata", False):
            return add_par_metadata(request, response)
        return response


BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def well_formed_query(request: HttpRequest) -> bool:
    """No broken percent escape in the raw query string and no NUL in any decoded parameter."""
    if BAD_ESCAPE.search(request.META.get("QUERY_STRING", "")):
        return False
    return not any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
    )
