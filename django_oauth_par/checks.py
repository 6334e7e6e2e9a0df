"""System checks. IDs are stable; the README lists each with its fix."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.urls import NoReverseMatch, reverse

from .conf import DEFAULTS, SETTINGS_NAME, setting_error

MIDDLEWARE_PATH = "django_oauth_par.middleware.PushedAuthorizationMiddleware"
#: Must run before ours: ours may answer the authorization request itself.
MUST_COME_BEFORE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "",  # no CACHES setting: Django's default is a LocMemCache
)


@register()
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE_PATH not in middleware:
        return [
            Error(
                f"{MIDDLEWARE_PATH} is not in MIDDLEWARE.",
                hint="Add it after AuthenticationMiddleware and CsrfViewMiddleware; without it "
                "the authorization endpoint ignores request_uri.",
                id="oauth_par.E001",
            )
        ]
    ours = middleware.index(MIDDLEWARE_PATH)
    late = [name for name in MUST_COME_BEFORE if name in middleware and middleware.index(name) > ours]
    if late:
        return [
            Error(
                f"{MIDDLEWARE_PATH} comes before {', '.join(late)}.",
                hint="Move it below them: it answers pushed authorization requests itself, so "
                "sessions, CSRF protection and the user must already be in place.",
                id="oauth_par.E002",
            )
        ]
    return []


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, SETTINGS_NAME, {})
    if not isinstance(value, dict):
        return [
            Error(
                f"{SETTINGS_NAME} must be a dict, not {type(value).__name__}.",
                hint="See the settings reference in the README.",
                id="oauth_par.E003",
            )
        ]
    messages: list[CheckMessage] = []
    for name, item in value.items():
        if name not in DEFAULTS:
            messages.append(
                Warning(
                    f"{SETTINGS_NAME} has an unknown key {name!r}; it is ignored.",
                    hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                    id="oauth_par.W001",
                )
            )
            continue
        problem = setting_error(name, item)
        if problem:
            messages.append(
                Error(
                    f"{SETTINGS_NAME}[{name!r}]: {problem}",
                    hint=f"The default is {DEFAULTS[name]!r}; see the settings reference in the README.",
                    id="oauth_par.E004",
                )
            )
    return messages


@register()
def check_native_par(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """DOT >= 3.5 has a PAR of its own, on by default: this app takes over only when it is off.

    Off, DOT's endpoint answers 404 and its metadata stops announcing it; its URL still
    exists, so ours must be routed first; its "PAR required" switch must not be the one in
    use, because only ours also guards the consent POST.
    """
    from django.urls import Resolver404, resolve

    from .compat import DOT_HAS_NATIVE_PAR, native_par_enabled
    from .views import PushedAuthorizationRequestView

    messages: list[CheckMessage] = []
    if native_par_enabled():
        messages.append(
            Error(
                "django-oauth-toolkit's own pushed authorization requests are enabled (its default) "
                "while django_oauth_par is installed.",
                hint='Set OAUTH2_PROVIDER["PAR_ENABLED"] = False, so that only django_oauth_par answers '
                "pushes and DOT's metadata stops announcing DOT's endpoint.",
                id="oauth_par.E005",
            )
        )
    dot_settings = getattr(settings, "OAUTH2_PROVIDER", None) or {}
    if DOT_HAS_NATIVE_PAR and dot_settings.get("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"):
        messages.append(
            Error(
                'OAUTH2_PROVIDER["REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"] is django-oauth-toolkit\'s own '
                "switch; with django_oauth_par it guards only part of the authorization endpoint.",
                hint='Remove it and set OAUTH2_PAR["REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"] = True instead.',
                id="oauth_par.E007",
            )
        )
    try:
        push_path = reverse("oauth_par:push")
        view_class = getattr(resolve(push_path).func, "view_class", None)
    except (NoReverseMatch, Resolver404):
        return messages  # not routed at all: check_urls says so
    except Exception:  # noqa: BLE001 - a broken URLconf is Django's own check to report
        return messages
    if view_class is None or not issubclass(view_class, PushedAuthorizationRequestView):
        other = f"{view_class.__module__}.{view_class.__qualname__}" if view_class else "a function view"
        messages.append(
            Error(
                f"{push_path} is answered by {other}, not by django_oauth_par: an earlier URL pattern "
                "shadows it.",
                hint='Include django_oauth_par.urls before oauth2_provider.urls: path("o/", '
                'include("django_oauth_par.urls")) first. DOT >= 3.5 routes its own par/ even '
                "when its PAR is disabled.",
                id="oauth_par.E008",
            )
        )
    return messages


@register()
def check_urls(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        reverse("oauth_par:push")
    except NoReverseMatch:
        return [
            Warning(
                "The pushed authorization request endpoint is not routed.",
                hint='Add path("o/", include("django_oauth_par.urls")) to your URLconf.',
                id="oauth_par.W003",
            )
        ]
    except Exception:  # noqa: BLE001 - a broken URLconf is Django's own check to report
        return []
    return []


@register(deploy=True)
def check_deployment(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Advice for ``manage.py check --deploy``: shared counters and some throttling."""
    from .conf import par_settings

    messages: list[CheckMessage] = []
    if par_settings.PUSH_RATE is None and par_settings.FAILED_AUTHENTICATION_RATE is None:
        messages.append(
            Warning(
                "Neither PUSH_RATE nor FAILED_AUTHENTICATION_RATE is set in OAUTH2_PAR.",
                hint="Set FAILED_AUTHENTICATION_RATE (e.g. '30/minute') so secret guessing is slowed "
                "down before any hash is computed, and PUSH_RATE per client if clients are untrusted.",
                id="oauth_par.W004",
            )
        )
    uses_cache = (
        par_settings.PUSH_RATE is not None
        or par_settings.FAILED_AUTHENTICATION_RATE is not None
        or par_settings.VERIFIED_SECRET_CACHE_SECONDS > 0
    )
    backend = (getattr(settings, "CACHES", {}).get(par_settings.CACHE_ALIAS) or {}).get("BACKEND", "")
    if uses_cache and backend in PER_PROCESS_CACHES:
        messages.append(
            Warning(
                f"OAUTH2_PAR uses the cache {par_settings.CACHE_ALIAS!r}, which each server process keeps "
                "to itself.",
                hint="Point CACHE_ALIAS at a shared cache such as Redis, so every worker counts the same "
                "rates and shares verified secrets.",
                id="oauth_par.W005",
            )
        )
    return messages
