"""The PAR endpoint (RFC 9126 §2): its view turns the outcome of ``push.push`` into JSON."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from . import audit
from .assertions import PrivateKeyJWTMixin
from .compat import OAuthLibMixin
from .exceptions import ParError, database_unavailable
from .mixins import with_mixin
from .push import push
from .pushed_client import ClientWithPolicyMixin
from .redirect_patterns import RedirectUriPatternsMixin
from .reports import hide_from_error_reports
from .secret_cache import VerifiedSecretCacheMixin

try:  # Django >= 5.1
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # pragma: no cover - Django 4.2

    def login_not_required(view: Any) -> Any:  # type: ignore[misc]  # stubs know only Django >= 5.1
        return view


def json_answer(data: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> HttpResponse:
    response = JsonResponse(data, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    # RFC 9126 §2.2 / RFC 6749 §5.1: neither references nor errors may be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def error_answer(error: ParError) -> HttpResponse:
    return json_answer(error.as_dict(), error.status, error.headers)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
# Even under ATOMIC_REQUESTS: a client's jwks_uri may need fetching, never inside a transaction.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
@method_decorator(sensitive_post_parameters(), name="dispatch")
class PushedAuthorizationRequestView(OAuthLibMixin, View):
    """The pushed authorization request endpoint of RFC 9126.

    Every parameter is sensitive (a secret, or a value pushed so that it stays out of
    URLs): :func:`~django_oauth_par.reports.hide_from_error_reports` keeps them out of
    error reports, and ``sensitive_post_parameters`` does for reporters of the site's own.
    """

    @classmethod
    def get_validator_class(cls) -> type:
        # The site's validator, with the verified-secret cache (off unless configured),
        # redirect URI patterns and private_key_jwt (a no-op where DOT has client keys of its
        # own) in front.
        validator_class = with_mixin(super().get_validator_class(), VerifiedSecretCacheMixin)
        validator_class = with_mixin(validator_class, ClientWithPolicyMixin)
        return with_mixin(with_mixin(validator_class, RedirectUriPatternsMixin), PrivateKeyJWTMixin)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        hide_from_error_reports(request, [])
        try:
            request_uri, expires_in = push(request, self.get_oauthlib_core())
        except ParError as error:
            audit.rejected(request, "push", error)
            return error_answer(error)
        except DatabaseError:
            return error_answer(database_unavailable("pushed authorization request"))
        return json_answer({"request_uri": request_uri, "expires_in": expires_in}, status=201)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        error = ParError("invalid_request", "Use POST to push an authorization request.", status=405)
        return json_answer(error.as_dict(), error.status, {"Allow": "POST"})

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.http_method_not_allowed(request, *args, **kwargs)
