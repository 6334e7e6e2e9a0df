"""A site that wraps DOT's authorization view in protections of its own.

Each route puts one kind of protection in front of the same view, as sites do in their
URLconf; pushed requests must pass each one exactly as classic requests do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.contrib.auth.decorators import permission_required, user_passes_test
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.urls import include, path
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from oauth2_provider.views import AuthorizationView

from django_oauth_par.authorization import PushedAuthorizationMixin

VERIFY_PATH = "/verify/"
#: How many requests the rate-limited route lets through.
RATE_LIMIT = 3
calls: dict[str, int] = {}


def second_factor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like django-otp's otp_required: a verified second factor in the session, or off to verify it."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.session.get("second_factor_verified"):
            return HttpResponseRedirect(VERIFY_PATH + "?next=" + quote(request.get_full_path()))
        return view(request, *args, **kwargs)

    return wrapped


def rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        calls["limited"] = calls.get("limited", 0) + 1
        if calls["limited"] > RATE_LIMIT:
            return HttpResponse("slow down", status=429)
        return view(request, *args, **kwargs)

    return wrapped


def without_wraps(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A wrapper that hides the view entirely: no view_class, no __wrapped__."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return view(request, *args, **kwargs)

    return wrapped


def copies_view_class_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A wrapper that says which class it serves but hides the function that builds it."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return view(request, *args, **kwargs)

    wrapped.view_class = view.view_class  # type: ignore[attr-defined]
    return wrapped


class SiteAuthorizationView(PushedAuthorizationMixin, AuthorizationView):
    """A site that composes the mixin itself: the documented way out for unusual wrappers."""


class GateMiddleware:
    """A site's own middleware after ours, with a process_view that can refuse."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if request.session.get("gate_closed"):
            return HttpResponseForbidden("gate closed")
        return None


def authorize() -> Callable[..., HttpResponse]:
    return AuthorizationView.as_view()


urlpatterns = [
    path("", include("example_project.urls")),
    path("staff/authorize/", user_passes_test(lambda user: user.is_staff)(authorize())),
    path(
        "perm/authorize/",
        permission_required("auth.view_user", raise_exception=True)(authorize()),
    ),
    path("second-factor/authorize/", second_factor_required(authorize())),
    path("never-cached/authorize/", never_cache(authorize())),
    path("framed/authorize/", xframe_options_sameorigin(authorize())),
    path("limited/authorize/", rate_limited(authorize())),
    path("composed/authorize/", SiteAuthorizationView.as_view()),
]

#: Routes the system check must refuse (used by a URLconf of their own in the tests).
hidden_urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("o/", include("django_oauth_par.urls")),  # before DOT's, whose >= 3.5 routes a par/ of its own
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("hidden/authorize/", without_wraps(authorize()), name="authorize"),
    path("class-only/authorize/", copies_view_class_only(authorize())),
]
