"""DOT's authorization view, answering from a pushed request.

:class:`PushedAuthorizationMixin` goes in front of the site's authorization view class
(see :mod:`django_oauth_par.binding`). For a request that carries no pushed request it
defers to that class. For a pushed one it keeps two views of the request apart:
oauthlib sees the pushed parameters, while everything that builds a URL for the
browser (login redirects, ``prompt`` handling, the site's decorators) sees only
``client_id`` and ``request_uri``.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlencode, urlparse

from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError, router, transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import resolve_url
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from . import audit, authorization_details, granted
from .compat import AllowForm, FatalClientError, NativeParBypassMixin, OAuthToolkitError
from .exceptions import ParError, database_unavailable
from .issuer import issuer_identifier, with_issuer
from .logins import last_login_of
from .mixins import with_mixin
from .models import PushedRequest
from .pages import error_page
from .policy import iss_in_authorization_responses
from .pushed_client import PushedApplicationMixin, pushed_application
from .redemption import record_outcome, redeem
from .redirect_patterns import RedirectUriPatternsMixin, patterns_client

if TYPE_CHECKING:
    from django.http.request import _ImmutableQueryDict
    from oauth2_provider.views import AuthorizationView as _Base
else:
    _Base = object


#: The request attribute under which the middleware hands the view its pushed request.
PUSHED_ATTRIBUTE = "pushed_authorization_request"

#: The consent form's hidden fields (DOT's AllowForm): their values come from the pushed
#: request, never from the browser. Read from the form, so a field DOT adds is covered too.
PUSHED_FORM_FIELDS = tuple(name for name, field in AllowForm.base_fields.items() if field.widget.is_hidden)


class PushedAuthorizationMixin(NativeParBypassMixin, _Base):
    """Overrides for an ``AuthorizationView`` whose request may be a pushed one."""

    pushed: PushedRequest | None

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.pushed = getattr(request, PUSHED_ATTRIBUTE, None)
        self.redeemed = False
        #: Whether the "redeemed" audit event went out with the code's transaction.
        self.redemption_audited = False
        self.silent = False
        #: The consent form's hidden fields as stored, set by post() for get_form_kwargs().
        self.stored_form_data: dict[str, str] | None = None

    @classmethod
    def get_validator_class(cls) -> type:
        validator_class = with_mixin(super().get_validator_class(), PushedApplicationMixin)
        validator_class = with_mixin(validator_class, RedirectUriPatternsMixin)
        return with_mixin(validator_class, granted.GrantedAuthorizationMixin)

    @classmethod
    def get_oauthlib_core(cls) -> Any:
        # DOT caches the core on the view class; a parent's cached core would lack our validator.
        if "_oauthlib_core" not in cls.__dict__ or oauth2_settings.ALWAYS_RELOAD_OAUTHLIB_CORE:
            cls._oauthlib_core = cls.get_oauthlib_backend_class()(cls.get_server())
        return cls._oauthlib_core

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.pushed is None:
            return super().dispatch(request, *args, **kwargs)
        # Inside the view the pushed parameters are the request (DOT reads prompt, approval_prompt
        # and resource from request.GET); outside it, the site and its decorators keep seeing only
        # the reference the browser sent.
        browser_query = request.GET
        request.GET = pushed_query(self.pushed)
        token = pushed_application.set(self.pushed.application)
        patterns = patterns_client.set(self.pushed.application if self.pushed.client_authenticated else None)
        serving = granted.serving.set((request, self.pushed))
        try:
            return super().dispatch(request, *args, **kwargs)
        except ParError as error:
            return error_page(request, error)
        except DatabaseError:
            return error_page(request, database_unavailable("authorization request"))
        finally:
            patterns_client.reset(patterns)
            granted.serving.reset(serving)
            pushed_application.reset(token)
            request.GET = browser_query

    # What oauthlib sees --------------------------------------------------------------

    def for_oauthlib(self, request: HttpRequest) -> HttpRequest:
        """A shallow copy of ``request`` whose query string is the pushed request.

        Its body is empty: on the consent POST the browser's form fields must neither
        reach oauthlib nor collide with the pushed parameters. ``prompt=none`` stays out:
        DOT implements no silent login (oauthlib would raise NotImplementedError), so the
        view answers it instead (DOT's login_required for an anonymous user, and
        consent_required from :meth:`get` where a consent page would be needed).
        """
        query = request.GET
        if self.prompt() == {"none"}:
            query = self.without_prompt(query)
        clone = copy.copy(request)
        clone.META = {**request.META, "QUERY_STRING": query.urlencode()}
        clone.POST = QueryDict()
        return clone

    def validate_authorization_request(self, request: HttpRequest) -> Any:
        if self.pushed is None:
            return super().validate_authorization_request(request)
        return super().validate_authorization_request(self.for_oauthlib(request))

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        if self.pushed is None:
            return super().create_authorization_response(request, scopes, credentials, allow)
        deferred: OAuthToolkitError | None = None
        with transaction.atomic(using=router.db_for_write(PushedRequest)):
            # Redemption and code are written together: a failed write leaves the request
            # unredeemed, and a lost race never creates a grant.
            self.redeem("code")
            audit.decided(self.request, self.pushed, allow)
            try:
                result = super().create_authorization_response(
                    self.for_oauthlib(request), scopes, credentials, allow
                )
            except FatalClientError:
                raise
            except OAuthToolkitError as error:
                # An error redirect to the client is a response too: the request stays redeemed.
                deferred = error
                record_outcome(self.pushed, error.oauthlib_error.error)
            else:
                # oauthlib answers some errors (invalid_scope, say) with a redirect, not an exception.
                record_outcome(self.pushed, self.outcome_of(result[0]))
            # The chain's outcome and its event commit with the code: one commit for the decision.
            # (The transaction opens with the redemption's UPDATE, so SQLite takes its write lock
            # first and a racing POST waits for it rather than failing to upgrade a read lock.)
            audit.redeemed(self.request, self.pushed, self.pushed.outcome)
            self.redemption_audited = True
        if deferred is not None:
            raise deferred
        return result

    def redeem(self, outcome: str) -> None:
        assert self.pushed is not None
        if not self.redeemed:
            redeem(self.request, self.pushed, outcome)
            self.redeemed = True

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        if iss_in_authorization_responses():
            # RFC 9207: every authorization response, success or error, names its issuer.
            redirect_to = with_issuer(redirect_to, issuer_identifier(self.request))
        if self.pushed is None:
            return super().redirect(redirect_to, application)
        # Every response sent to the client's redirect URI passes here, and only those.
        outcome = self.outcome_of(redirect_to)
        if self.redeemed:
            record_outcome(self.pushed, outcome)
        else:
            self.redeem(outcome)
        if not self.redemption_audited:
            audit.redeemed(self.request, self.pushed, self.pushed.outcome)
        return super().redirect(redirect_to, application)

    def outcome_of(self, location: str | None) -> str:
        """What an authorization response to ``location`` tells the client: ``code`` or its error."""
        assert self.pushed is not None
        base = self.request.GET.get("redirect_uri") or self.pushed.application.default_redirect_uri
        return authorization_outcome(location or "", base or "")

    # prompt: the one place that decides what a pushed prompt asks of this presentation --

    def interaction(self) -> HttpResponse | None:
        """Honour the pushed ``prompt`` for a signed-in user: a response to send first, or None.

        The consent page (GET) and the consent decision (POST) both ask here, so a hand-made
        POST can never get around what the GET would have asked of the user.
        """
        prompt = self.prompt()
        if "login" in prompt:
            if not self.login_prompt_satisfied():
                return self.handle_prompt_login()
            self.request.GET = self.without_prompt(self.request.GET, "login")
        # prompt=none: the user is signed in already; whether a consent page would be needed
        # is decided by running the view and looking at what it answers (see get()).
        self.silent = prompt == {"none"}
        return None

    def prompt(self) -> set[str]:
        return set(self.request.GET.get("prompt", "").split())

    @staticmethod
    def without_prompt(query: QueryDict, value: str | None = None) -> _ImmutableQueryDict:
        result = query.copy()
        remaining = [v for v in result.get("prompt", "").split() if value is not None and v != value]
        if remaining:
            result["prompt"] = " ".join(remaining)
        else:
            result.pop("prompt", None)
        result._mutable = False
        return cast("_ImmutableQueryDict", result)

    def login_prompt_satisfied(self) -> bool:
        assert self.pushed is not None
        prompted = self.pushed.login_prompted_at
        logged_in = last_login_of(self.request)
        return prompted is not None and logged_in is not None and logged_in >= prompted

    def handle_prompt_login(self) -> HttpResponse:
        if self.pushed is None:
            return super().handle_prompt_login()
        now = timezone.now()
        PushedRequest.objects.filter(pk=self.pushed.pk).update(login_prompted_at=now)
        self.pushed.login_prompted_at = now
        login_url = resolve_url(self.get_login_url())
        next_url = self.request.get_full_path()
        login_scheme, login_netloc = urlparse(login_url)[:2]
        if (login_scheme and login_scheme != self.request.scheme) or (
            login_netloc and login_netloc != self.request.get_host()
        ):
            next_url = self.request.build_absolute_uri()
        return redirect_to_login(next_url, login_url, self.get_redirect_field_name())

    def handle_no_permission(self) -> HttpResponse:
        if self.pushed is not None and "login" in self.prompt() and self.login_prompt_satisfied():
            self.request.GET = self.without_prompt(self.request.GET, "login")
        return super().handle_no_permission()

    # GET: the consent page ------------------------------------------------------------

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.pushed is None:
            return super().get(request, *args, **kwargs)
        response = self.interaction()
        if response is not None:
            return response
        response = super().get(request, *args, **kwargs)
        if self.silent and not self.redeemed:
            # prompt=none forbids showing a consent page (OpenID Connect Core §3.1.2.1).
            return self.silent_failure()
        return response

    def silent_failure(self) -> HttpResponse:
        try:
            _scopes, credentials = self.validate_authorization_request(self.request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        consent_required = oauth2_errors.ConsentRequired(state=credentials.get("state"))
        consent_required.redirect_uri = credentials["redirect_uri"]
        assert self.pushed is not None
        return self.error_response(
            OAuthToolkitError(error=consent_required, redirect_uri=credentials["redirect_uri"]),
            self.pushed.application,
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.pushed is not None:
            context.update(authorization_details.consent_context(self.pushed, self.request))
            if not self.silent:  # prompt=none never shows the page it renders
                audit.consent_shown(self.request, self.pushed)
        return context

    def get_initial(self) -> dict[str, Any]:
        if self.pushed is None:
            return super().get_initial()
        # The consent form carries nothing pushed: its POST is answered from storage.
        return {}

    # POST: the consent decision -------------------------------------------------------

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.pushed is None:
            return super().post(request, *args, **kwargs)
        if self.prompt() == {"none"}:
            # No consent page is ever shown for prompt=none, so there is no decision to accept:
            # a POST gets exactly what the GET gives.
            return self.get(request, *args, **kwargs)
        response = self.interaction()
        if response is not None:
            return response
        params = request.GET
        if params.get("redirect_uri") and params.get("scope"):
            # The usual case: the stored request names everything the form needs. oauthlib
            # validates it all again while issuing the code, so nothing is taken on trust.
            stored = {name: params.get(name, "") for name in PUSHED_FORM_FIELDS}
        else:
            # Defaults (the registered redirect URI, the default scopes) come from oauthlib.
            try:
                scopes, credentials = self.validate_authorization_request(request)
            except OAuthToolkitError as error:
                return self.error_response(error, application=None)
            stored = {
                **{name: credentials.get(name) or "" for name in PUSHED_FORM_FIELDS},
                "scope": " ".join(scopes),
                "claims": json.dumps(credentials["claims"]) if credentials.get("claims") else "",
            }
        stored["resource"] = " ".join(params.getlist("resource"))
        self.stored_form_data = stored
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        stored = self.stored_form_data
        if stored is not None and "data" in kwargs:
            data = kwargs["data"].copy()
            for name in PUSHED_FORM_FIELDS:
                data.setlist(name, [stored[name]] if stored[name] else [])
            kwargs["data"] = data
        return kwargs


def pushed_query(pushed: PushedRequest) -> _ImmutableQueryDict:
    """The pushed parameters as an immutable QueryDict, repeats in their order."""
    query = QueryDict(mutable=True)
    for name, value in pushed.parameter_pairs:
        query.appendlist(name, value)
    query._mutable = False
    return cast("_ImmutableQueryDict", query)


def authorization_outcome(location: str, redirect_uri: str) -> str:
    """``code``, or the ``error`` that the authorization response to ``location`` carries.

    Only what the server added to the redirect URI counts: a registered redirect URI may
    itself contain ``error=...`` in its query, which says nothing about this response.
    """
    response, base = urlparse(location), urlparse(redirect_uri)
    for component, registered in ((response.query, base.query), (response.fragment, base.fragment)):
        added = Counter(parse_qsl(component, keep_blank_values=True))
        added.subtract(Counter(parse_qsl(registered, keep_blank_values=True)))
        errors = [value for (name, value), count in added.items() if name == "error" and count > 0]
        if errors:
            return errors[-1]
    return "code"


def short_query(client_id: str, request_uri: str) -> str:
    """The only query string the browser ever sees for a pushed request."""
    return urlencode([("client_id", client_id), ("request_uri", request_uri)])
