"""DOT's authorization view, answering from a pushed request.

The middleware runs the site's own authorization view class (DOT's
``AuthorizationView`` or a subclass) through :func:`pushed_view_class`, which puts
:class:`PushedAuthorizationMixin` in front of it. The mixin keeps two views of the
request apart: oauthlib sees the pushed parameters, while everything that builds
a URL for the browser (login redirects, ``prompt`` handling) sees only
``client_id`` and ``request_uri``.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError, router, transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import resolve_url
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from . import audit
from .compat import AllowForm, AuthorizationView, FatalClientError, NativeParBypassMixin, OAuthToolkitError
from .exceptions import UNAVAILABLE, ParError
from .logins import last_login_of
from .models import PushedRequest
from .pages import error_page
from .redemption import claim, record_outcome
from .validators import PushedApplicationMixin, pushed_application, with_mixin

log = logging.getLogger("django_oauth_par")

#: The consent form's hidden fields (DOT's AllowForm): their values come from the pushed
#: request, never from the browser. Read from the form, so a field DOT adds is covered too.
PUSHED_FORM_FIELDS = tuple(name for name, field in AllowForm.base_fields.items() if field.widget.is_hidden)


class PushedAuthorizationMixin(NativeParBypassMixin):
    """Overrides for an ``AuthorizationView`` whose request is a pushed one."""

    request: HttpRequest
    pushed: PushedRequest

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)  # type: ignore[misc]
        self.pushed = request.pushed_authorization_request  # type: ignore[attr-defined]
        self.claimed = False
        self.silent = False

    @classmethod
    def get_validator_class(cls) -> type:
        return with_mixin(super().get_validator_class(), PushedApplicationMixin)  # type: ignore[misc]

    @classmethod
    def get_oauthlib_core(cls) -> Any:
        # DOT caches the core on the view class; a parent's cached core would lack our validator.
        if "_oauthlib_core" not in cls.__dict__ or oauth2_settings.ALWAYS_RELOAD_OAUTHLIB_CORE:
            cls._oauthlib_core = cls.get_oauthlib_backend_class()(cls.get_server())  # type: ignore[attr-defined]
        return cls._oauthlib_core  # type: ignore[attr-defined]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = pushed_application.set(self.pushed.application)
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        except ParError as error:
            return error_page(request, error)
        except DatabaseError:
            log.exception("authorization request failed: database error")
            return error_page(request, UNAVAILABLE)
        finally:
            pushed_application.reset(token)

    # What oauthlib sees --------------------------------------------------------------

    def for_oauthlib(self, request: HttpRequest) -> HttpRequest:
        """A shallow copy of ``request`` whose query string is the pushed request.

        Its body is empty: on the consent POST the browser's form fields must neither
        reach oauthlib nor collide with the pushed parameters.
        """
        clone = copy.copy(request)
        clone.META = {**request.META, "QUERY_STRING": request.GET.urlencode()}
        clone.POST = QueryDict()
        return clone

    def validate_authorization_request(self, request: HttpRequest) -> Any:
        try:
            return super().validate_authorization_request(self.for_oauthlib(request))  # type: ignore[misc]
        except NotImplementedError:
            # DOT implements no silent login. A pushed prompt=none is answered by the view
            # instead: login_required for an anonymous user (DOT's own handling), and for a
            # signed-in user consent_required unless no consent page is needed. Never a 500.
            if self.prompt() != {"none"}:
                raise
            self.silent = True
            self.request.GET = self.without_prompt(self.request.GET)
            return super().validate_authorization_request(self.for_oauthlib(request))  # type: ignore[misc]

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        deferred: OAuthToolkitError | None = None
        with transaction.atomic(using=router.db_for_write(PushedRequest)):
            # Claim and code are written together: a failed write leaves the request unspent,
            # and a lost race never creates a grant.
            self.claim("code")
            try:
                result = super().create_authorization_response(  # type: ignore[misc]
                    self.for_oauthlib(request), scopes, credentials, allow
                )
            except FatalClientError:
                raise
            except OAuthToolkitError as error:
                # An error redirect to the client is a response too: the request stays spent.
                deferred = error
                record_outcome(self.pushed, error.oauthlib_error.error)
        if deferred is not None:
            raise deferred
        return result

    def claim(self, outcome: str) -> None:
        if not self.claimed:
            claim(self.request, self.pushed, outcome)
            self.claimed = True

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        # Every response sent to the client's redirect URI passes here, and only those.
        self.claim(redirect_error(redirect_to) or "code")
        audit.redeemed(self.request, self.pushed, self.pushed.outcome)
        return super().redirect(redirect_to, application)  # type: ignore[misc]

    # prompt ---------------------------------------------------------------------------

    def prompt(self) -> set[str]:
        return set(self.request.GET.get("prompt", "").split())

    @staticmethod
    def without_prompt(query: QueryDict, value: str | None = None) -> QueryDict:
        result = query.copy()
        if value is None:
            result.pop("prompt", None)
        else:
            remaining = [v for v in result.get("prompt", "").split() if v != value]
            if remaining:
                result["prompt"] = " ".join(remaining)
            else:
                result.pop("prompt", None)
        result._mutable = False
        return result

    def login_prompt_satisfied(self) -> bool:
        prompted = self.pushed.login_prompted_at
        logged_in = last_login_of(self.request)
        return prompted is not None and logged_in is not None and logged_in >= prompted

    def handle_prompt_login(self) -> HttpResponse:
        now = timezone.now()
        PushedRequest.objects.filter(pk=self.pushed.pk).update(login_prompted_at=now)
        self.pushed.login_prompted_at = now
        login_url = resolve_url(self.get_login_url())  # type: ignore[attr-defined]
        next_url = self.request.get_full_path()
        login_scheme, login_netloc = urlparse(login_url)[:2]
        if (login_scheme and login_scheme != self.request.scheme) or (
            login_netloc and login_netloc != self.request.get_host()
        ):
            next_url = self.request.build_absolute_uri()
        return redirect_to_login(next_url, login_url, self.get_redirect_field_name())  # type: ignore[attr-defined]

    def handle_no_permission(self) -> HttpResponse:
        if "login" in self.prompt() and self.login_prompt_satisfied():
            self.request.GET = self.without_prompt(self.request.GET, "login")
        return super().handle_no_permission()  # type: ignore[misc]

    # GET: the consent page ------------------------------------------------------------

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "login" in self.prompt():
            if not self.login_prompt_satisfied():
                return self.handle_prompt_login()
            request.GET = self.without_prompt(request.GET, "login")
        response = super().get(request, *args, **kwargs)  # type: ignore[misc]
        if (self.silent or self.prompt() == {"none"}) and not response.has_header("Location"):
            # prompt=none forbids showing a consent page (OpenID Connect Core §3.1.2.1).
            return self.silent_failure()
        return response

    def silent_failure(self) -> HttpResponse:
        try:
            _scopes, credentials = self.validate_authorization_request(self.request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)  # type: ignore[attr-defined]
        error = oauth2_errors.ConsentRequired(state=credentials.get("state"))
        error.redirect_uri = credentials["redirect_uri"]
        return self.error_response(  # type: ignore[attr-defined]
            OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"]), self.pushed.application
        )

    def get_initial(self) -> dict[str, Any]:
        # The consent form carries nothing pushed: its POST is answered from storage.
        return {}

    # POST: the consent decision -------------------------------------------------------

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        params = request.GET
        if params.get("redirect_uri") and params.get("scope"):
            # The usual case: the stored request names everything the form needs. oauthlib
            # validates it all again while issuing the code, so nothing is taken on trust.
            self.stored_form_data = {name: params.get(name, "") for name in PUSHED_FORM_FIELDS}
        else:
            # Defaults (the registered redirect URI, the default scopes) come from oauthlib.
            try:
                scopes, credentials = self.validate_authorization_request(request)
            except OAuthToolkitError as error:
                return self.error_response(error, application=None)  # type: ignore[attr-defined]
            self.stored_form_data = {
                **{name: credentials.get(name) or "" for name in PUSHED_FORM_FIELDS},
                "scope": " ".join(scopes),
                "claims": json.dumps(credentials["claims"]) if credentials.get("claims") else "",
            }
        self.stored_form_data["resource"] = " ".join(params.getlist("resource"))
        return super().post(request, *args, **kwargs)  # type: ignore[misc]

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()  # type: ignore[misc]
        if "data" in kwargs:
            data = kwargs["data"].copy()
            for name in PUSHED_FORM_FIELDS:
                data.setlist(name, [self.stored_form_data[name]] if self.stored_form_data[name] else [])
            kwargs["data"] = data
        return kwargs


@functools.cache
def pushed_view_class(view_class: type[AuthorizationView]) -> type[AuthorizationView]:
    return type(f"Pushed{view_class.__name__}", (PushedAuthorizationMixin, view_class), {})


def redirect_error(url: str) -> str | None:
    """The ``error`` an authorization response redirect carries (query or fragment), if any."""
    parts = urlparse(url)
    for component in (parts.query, parts.fragment):
        errors = parse_qs(component).get("error")
        if errors:
            return errors[0]
    return None


def short_query(client_id: str, request_uri: str) -> str:
    """The only query string the browser ever sees for a pushed request."""
    return urlencode([("client_id", client_id), ("request_uri", request_uri)])
