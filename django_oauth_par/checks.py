"""System checks. IDs are stable; the README lists each with its fix."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse

from . import conf

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
SETTINGS_HINT = "See the settings reference in the README."


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
    """The same verdicts that stop start-up, reported all at once by ``manage.py check``."""
    try:
        unknown = conf.unknown_keys()
    except ImproperlyConfigured as error:
        return [Error(str(error), hint=SETTINGS_HINT, id="oauth_par.E003")]
    messages: list[CheckMessage] = [
        Warning(
            f"{conf.SETTINGS_NAME} has an unknown key {name!r}; it is ignored.",
            hint=f"Known keys: {', '.join(sorted(conf.SETTINGS))}.",
            id="oauth_par.W001",
        )
        for name in unknown
    ]
    messages += [Error(problem, hint=SETTINGS_HINT, id="oauth_par.E004") for problem in conf.invalid_values()]
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
                id="oauth_par.E009",
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

    try:
        conf.validate()
    except ImproperlyConfigured:
        return []  # check_settings reports the invalid values (E003, E004)
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
    from .assertions import token_endpoint_accepts_assertions

    # Key-based clients need the cache too: a used jti is refused only where the cache is shared.
    uses_cache = (
        par_settings.PUSH_RATE is not None
        or par_settings.FAILED_AUTHENTICATION_RATE is not None
        or par_settings.UNAUTHENTICATED_PUSH_RATE is not None
        or par_settings.VERIFIED_SECRET_CACHE_SECONDS > 0
        or token_endpoint_accepts_assertions()
    )
    backend = (getattr(settings, "CACHES", {}).get(par_settings.CACHE_ALIAS) or {}).get("BACKEND", "")
    if uses_cache and backend in PER_PROCESS_CACHES:
        messages.append(
            Warning(
                f"OAUTH2_PAR uses the cache {par_settings.CACHE_ALIAS!r}, which each server process keeps "
                "to itself.",
                hint="Point CACHE_ALIAS at a shared cache such as Redis, so every worker counts the same "
                "rates, shares verified secrets and refuses a jti another worker has seen.",
                id="oauth_par.W005",
            )
        )
    return messages


def _url_patterns(patterns: Any, prefix: str = "") -> Any:
    """Every URLPattern in ``patterns``, with its route as written, through includes."""
    from django.urls import URLPattern, URLResolver

    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _url_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


@register()
def check_authorization_views(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every routed authorization view must be able to serve pushed requests.

    Pushed requests go through the site's own view function (see ``binding``); one whose
    class cannot be reached would have to be refused at run time. DOT's URL name
    ``authorize`` whose view class cannot be seen at all would escape PAR entirely.
    """
    from django.urls import get_resolver

    from .binding import authorization_view_class, can_serve_pushed_requests

    try:
        patterns = list(_url_patterns(get_resolver().url_patterns))
    except Exception:  # noqa: BLE001 - a broken URLconf is Django's own check to report
        return []
    messages: list[CheckMessage] = []
    for route, pattern in patterns:
        callback = pattern.callback
        view_class = authorization_view_class(callback)
        hidden = view_class is None and pattern.name == "authorize" and not hasattr(callback, "view_class")
        if (view_class is not None and not can_serve_pushed_requests(callback)) or hidden:
            messages.append(
                Error(
                    f"The authorization view at {route!r} is wrapped so that its view class cannot be "
                    "reached; pushed authorization requests to it would be refused.",
                    hint="Write the wrapping decorator with functools.wraps (Django's own decorators "
                    "do), or route a class that puts django_oauth_par.authorization."
                    "PushedAuthorizationMixin in front of DOT's AuthorizationView.",
                    obj=callback,
                    id="oauth_par.E006",
                )
            )
    return messages


#: FAPI 2.0 Security Profile §5.3.2.1: authorization codes live at most 60 seconds.
FAPI2_MAX_CODE_LIFETIME = 60


@register()
def check_fapi2_profile(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """With ``PROFILE = "fapi2"``, every DOT or site setting that contradicts the profile is an error."""
    from oauth2_provider.settings import DEFAULTS as DOT_DEFAULTS
    from oauth2_provider.settings import oauth2_settings

    from .conf import par_settings
    from .policy import FAPI2_MAX_REQUEST_URI_LIFETIME, fapi2

    if not fapi2():
        return []
    found: list[tuple[str, str]] = []
    if oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS > FAPI2_MAX_CODE_LIFETIME:
        found.append(
            (
                f"OAUTH2_PROVIDER['AUTHORIZATION_CODE_EXPIRE_SECONDS'] is "
                f"{oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS}; FAPI 2.0 allows at most 60 seconds.",
                "Set OAUTH2_PROVIDER['AUTHORIZATION_CODE_EXPIRE_SECONDS'] = 60 (or less).",
            )
        )
    if not oauth2_settings.PKCE_REQUIRED:
        found.append(
            (
                "OAUTH2_PROVIDER['PKCE_REQUIRED'] is off; FAPI 2.0 requires PKCE.",
                "Remove the setting or set it to True.",
            )
        )
    # DOT 3.4 added this switch. Without it, plain can still never be used under the profile:
    # every request is pushed, and the push demands S256.
    bcp = "COMPLIANT_BCP_RFC9700_PKCE_METHOD"
    if bcp in DOT_DEFAULTS and not getattr(oauth2_settings, bcp):
        found.append(
            (
                f"DOT accepts the PKCE method 'plain' (OAUTH2_PROVIDER['{bcp}'] is False); FAPI 2.0 "
                "requires S256 only.",
                f"Set OAUTH2_PROVIDER['{bcp}'] = True.",
            )
        )
    # MAX_REQUEST_URI_LIFETIME is a bound that the profile lowers itself; a default above it is a
    # contradiction the site wrote down.
    if par_settings.REQUEST_URI_LIFETIME > FAPI2_MAX_REQUEST_URI_LIFETIME:
        found.append(
            (
                f"OAUTH2_PAR['REQUEST_URI_LIFETIME'] is {par_settings.REQUEST_URI_LIFETIME}; FAPI 2.0 asks "
                "for request_uri lifetimes under 600 seconds.",
                f"Set OAUTH2_PAR['REQUEST_URI_LIFETIME'] to {FAPI2_MAX_REQUEST_URI_LIFETIME} or less "
                "(the default is 60).",
            )
        )
    if not par_settings.AUTHORIZATION_RESPONSE_ISS:
        found.append(
            (
                "OAUTH2_PAR['AUTHORIZATION_RESPONSE_ISS'] is False; FAPI 2.0 requires iss in every "
                "authorization response (RFC 9207).",
                "Remove the setting: the profile adds iss regardless, and the setting should say so.",
            )
        )
    from .assertions import PrivateKeyJWTMixin

    # Also where DOT verifies private_key_jwt itself: only the mixin refuses secrets there.
    if not issubclass(oauth2_settings.OAUTH2_VALIDATOR_CLASS, PrivateKeyJWTMixin):
        found.append(
            (
                "OAUTH2_PROVIDER['OAUTH2_VALIDATOR_CLASS'] lacks PrivateKeyJWTMixin, so DOT's token endpoint "
                "does not hold clients to private_key_jwt, the one method FAPI 2.0 leaves (and, on a DOT "
                "without client keys of its own, refuses it: clients could push but not exchange codes).",
                "Put django_oauth_par.assertions.PrivateKeyJWTMixin in front of your validator class "
                "(see the README).",
            )
        )
    if "http" in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES:
        found.append(
            (
                "OAUTH2_PROVIDER['ALLOWED_REDIRECT_URI_SCHEMES'] allows http; FAPI 2.0 requires https "
                "redirect URIs.",
                "Set OAUTH2_PROVIDER['ALLOWED_REDIRECT_URI_SCHEMES'] = ['https'].",
            )
        )
    return [Error(message, hint=hint, id="oauth_par.E101") for message, hint in found]


@register(Tags.database)
def check_fapi2_clients(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """FAPI 2.0 clients use the authorization code grant only: name those registered otherwise.

    Tagged ``database``: it reads the clients, so it runs with ``manage.py check --database default``
    and before ``migrate``.
    """
    from django.db import DatabaseError
    from oauth2_provider.models import get_application_model

    from .policy import fapi2

    if not fapi2() or not databases:
        return []
    application = get_application_model()
    grants = [getattr(application, name, None) for name in ("GRANT_IMPLICIT", "GRANT_PASSWORD")]
    try:
        client_ids = list(
            application.objects.filter(authorization_grant_type__in=[grant for grant in grants if grant])
            .order_by("client_id")
            .values_list("client_id", flat=True)[:11]
        )
    except DatabaseError:
        return []
    if not client_ids:
        return []
    shown = ", ".join(client_ids[:10]) + (" and more" if len(client_ids) > 10 else "")
    return [
        Error(
            f"Clients registered for the implicit or password grant contradict FAPI 2.0: {shown}.",
            hint="Change their authorization grant type to authorization-code in the admin, or remove them.",
            id="oauth_par.E102",
        )
    ]


@register()
def check_validator(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """DOT's token endpoint carries what a pushed request granted only with our validator mixin."""
    from oauth2_provider.settings import oauth2_settings

    from .conf import par_settings
    from .granted import GrantedAuthorizationMixin

    try:
        validator_class = oauth2_settings.OAUTH2_VALIDATOR_CLASS
    except ImportError:  # DOT's own problem to report
        return []
    if isinstance(validator_class, type) and issubclass(validator_class, GrantedAuthorizationMixin):
        return []
    hint = (
        "Put django_oauth_par.granted.GrantedAuthorizationMixin in front of your OAUTH2_VALIDATOR_CLASS "
        "(see the README's section on Rich Authorization Requests)."
    )
    try:
        types, trail = par_settings.AUTHORIZATION_DETAILS_TYPES, par_settings.AUDIT_TRAIL
    except ImproperlyConfigured:  # reported by check_settings
        return []
    if types:
        return [
            Error(
                "OAUTH2_PAR registers authorization_details types, but DOT's validator does not carry them "
                "into tokens: approved details would be lost at the token endpoint.",
                hint=hint,
                id="oauth_par.E007",
            )
        ]
    if trail:
        return [
            Warning(
                "The audit trail is on, but DOT's validator does not record token events: chains end "
                "with the code.",
                hint=hint + " Or set AUDIT_TRAIL to False.",
                id="oauth_par.W006",
            )
        ]
    return []
