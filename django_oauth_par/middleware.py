"""The middleware that makes DOT's authorization endpoint honour pushed requests.

It never raises on client input: every refusal is an error page, and every other
request passes through untouched. A pushed request is not answered here: the
middleware resolves the reference, attaches the pushed request and lets Django call
the site's own view function, so the site's decorators and the ``process_view`` of
every later middleware apply to it exactly as to a classic request.
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
from django.utils.cache import patch_cache_control
from django.utils.deprecation import MiddlewareMixin

from . import audit
from .authorization import PUSHED_ATTRIBUTE, short_query
from .binding import authorization_view_class, serve_pushed_requests
from .exceptions import ParError, database_unavailable
from .metadata import add_par_metadata, is_metadata_view
from .pages import error_page
from .redemption import par_required, resolve
from .reports import hide_from_error_reports
from .startup import require_migrated_tables

log = logging.getLogger("django_oauth_par")

#: Answer for an authorization view that cannot be made to serve pushed requests (see
#: ``oauth_par.E006``): refusing is safer than serving without the site's protections.
CANNOT_SERVE = ParError(
    "server_error",
    "This authorization endpoint is not set up to serve pushed authorization requests.",
    status=500,
    reason="unsupported_view",
)


class PushedAuthorizationMiddleware(MiddlewareMixin):
    """Sync and async capable (through ``MiddlewareMixin``)."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        super().__init__(get_response)
        require_migrated_tables()

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        view_class = getattr(view_func, "view_class", None)
        if isinstance(view_class, type) and is_metadata_view(view_class):
            request._oauth_par_metadata = True  # type: ignore[attr-defined]
            return None
        if authorization_view_class(view_func) is None:
            return None
        # Classic requests go through the mixin too, for what every authorization response
        # carries (RFC 9207 iss); it defers to the site's class for everything else.
        servable = serve_pushed_requests(view_func)
        if not well_formed_query(request):
            # oauthlib raises on bad escapes and PostgreSQL on NUL characters: refuse them here.
            return error_page(request, ParError("invalid_request", "The query string is malformed."))
        if "request_uri" in request.GET:
            # The reference is in the URL itself: an error report of this request must hold none
            # of it, and, once it is resolved, none of the pushed values either.
            hide_from_error_reports(request, request.GET.getlist("request_uri"))
        try:
            if "request_uri" not in request.GET:
                return self.refuse_unpushed(request)
            pushed = resolve(request)
        except ParError as error:
            return error_page(request, error)
        except DatabaseError:
            return error_page(request, database_unavailable("authorization request"))
        if not servable:
            log.error("the authorization view %r cannot serve pushed requests (oauth_par.E006)", view_func)
            return error_page(request, CANNOT_SERVE)
        # The browser's query is reduced to the reference alone, so every URL built from it
        # (login's next, prompt handling, the site's decorators) carries nothing else.
        query = short_query(pushed.application.client_id, request.GET["request_uri"])
        request.META["QUERY_STRING"] = query
        request.GET = QueryDict(query)
        setattr(request, PUSHED_ATTRIBUTE, pushed)
        hide_from_error_reports(request, [value for _name, value in pushed.parameter_pairs])
        return None

    def refuse_unpushed(self, request: HttpRequest) -> HttpResponse | None:
        """Refuse a request without ``request_uri`` from a client that must push first.

        Every ``client_id`` the request carries counts, in the query and in a POSTed body,
        so no spelling reaches DOT that names a different client than the one decided on.
        """
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
        if any(not well_formed_client_id(client_id) for client_id in client_ids):
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
        if getattr(request, PUSHED_ATTRIBUTE, None) is not None:
            # Whatever answered a pushed request (consent page, login redirect, a decorator's
            # page) speaks of a one-time request: no cache may keep it.
            patch_cache_control(response, no_store=True)
            response["Pragma"] = "no-cache"
        return response


BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def well_formed_query(request: HttpRequest) -> bool:
    """No broken percent escape in the raw query string and no NUL in any decoded parameter."""
    if BAD_ESCAPE.search(request.META.get("QUERY_STRING", "")):
        return False
    return not any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
    )


def well_formed_client_id(client_id: str) -> bool:
    """Whether every reader of ``client_id`` sees the same client.

    DOT's consent form strips surrounding whitespace from ``client_id`` while oauthlib and
    our lookups use it as sent; a value they would read differently is refused outright.
    NUL characters are refused because PostgreSQL cannot even compare them.
    """
    return "\x00" not in client_id and client_id == client_id.strip()
