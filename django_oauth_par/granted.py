"""What a pushed request grants, carried from the code to the tokens and across refreshes.

When DOT stores a code for a pushed request, :class:`GrantedAuthorizationMixin` keeps a
:class:`~django_oauth_par.models.GrantedAuthorization` row beside DOT's Grant with the approved
``authorization_details`` (RFC 9396) and the request's audit id; each access token issued from
that code, or refreshed from its refresh token, gets one of its own. The token response
(RFC 9396 §7) and introspection (§9.2) return the details; :func:`authorization_details_of`
gives them to a resource server. A token issued without a pushed request is unchanged.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from typing import Any

from django.db import router, transaction
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from oauth2_provider.models import get_access_token_model

from . import audit
from .authorization_details import PARAMETER, of_pushed_request
from .compat import IntrospectTokenView
from .conf import par_settings
from .models import GrantedAuthorization, PushedRequest

#: The request and pushed request the authorization view is serving, for the code it issues.
serving: ContextVar[tuple[HttpRequest, PushedRequest] | None] = ContextVar("serving", default=None)


def tracking() -> bool:
    """Whether anything is carried at all: with no audit trail and no RAR, DOT runs untouched."""
    return par_settings.AUDIT_TRAIL or bool(par_settings.AUTHORIZATION_DETAILS_TYPES)


class GrantedAuthorizationMixin:
    """Put in front of your ``OAUTH2_VALIDATOR_CLASS`` so DOT's token endpoint carries what a pushed
    request granted (``authorization_details`` and the audit chain)::

        class Validator(GrantedAuthorizationMixin, OAuth2Validator):
            pass

    The authorization endpoint adds it on its own when it serves a pushed request.
    """

    # The code --------------------------------------------------------------------------

    def _create_authorization_code(self, request: Any, code: Any, expires: Any = None) -> Any:
        grant = super()._create_authorization_code(request, code, expires)  # type: ignore[misc]
        current = serving.get()
        if current is None or not tracking():
            return grant
        http_request, pushed = current
        details = of_pushed_request(pushed)
        audit_id = pushed.audit_id if par_settings.AUDIT_TRAIL else None
        if details is not None or audit_id is not None:
            GrantedAuthorization.objects.create(grant=grant, audit_id=audit_id, authorization_details=details)
        audit.code_issued(http_request, pushed, grant)
        return grant

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)  # type: ignore[misc]
        if valid and tracking():
            request.par_granted = GrantedAuthorization.objects.filter(
                grant__code=code, grant__application=client
            ).first()
        return bool(valid)

    # The tokens ------------------------------------------------------------------------

    def _create_access_token(
        self, expires: Any, request: Any, token: Any, source_refresh_token: Any = None
    ) -> Any:
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)  # type: ignore[misc]
        request.par_access_token = access_token
        return access_token

    def _create_refresh_token(
        self, request: Any, refresh_token_code: Any, access_token: Any, previous_refresh_token: Any
    ) -> Any:
        refresh_token = super()._create_refresh_token(  # type: ignore[misc]
            request, refresh_token_code, access_token, previous_refresh_token
        )
        request.par_refresh_token = refresh_token
        return refresh_token

    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> Any:
        source = self._granted_source(request)
        if source is None:
            return super().save_bearer_token(token, request, *args, **kwargs)  # type: ignore[misc]
        previous = (
            getattr(request, "refresh_token_instance", None)
            if request.grant_type == "refresh_token"
            else None
        )
        with transaction.atomic(using=router.db_for_write(GrantedAuthorization)):
            result = super().save_bearer_token(token, request, *args, **kwargs)  # type: ignore[misc]
            access_token = getattr(request, "par_access_token", None)
            refresh_token = getattr(request, "par_refresh_token", None)
            if access_token is not None:
                # A new pair; a refresh without rotation keeps the access token and its row.
                GrantedAuthorization.objects.create(
                    audit_id=source.audit_id,
                    authorization_details=source.authorization_details,
                    access_token=access_token,
                    refresh_token=refresh_token,
                )
                audit.token_issued(
                    source.audit_id,
                    request.client.client_id,
                    access_token,
                    refresh_token,
                    source.authorization_details,
                    previous_refresh_token=previous,
                )
            elif previous is not None and not self.rotate_refresh_token(request):  # type: ignore[attr-defined]
                # Without rotation DOT gives the same access token a new value and expiry in place.
                access_token = get_access_token_model().objects.get(pk=previous.access_token_id)
                audit.token_issued(
                    source.audit_id,
                    request.client.client_id,
                    access_token,
                    previous,
                    source.authorization_details,
                    previous_refresh_token=previous,
                )
        if source.authorization_details is not None:
            # RFC 9396 §7: the token response names the details the token carries. oauthlib
            # serialises this dict after saving it, so what is added here is what is sent.
            token[PARAMETER] = source.authorization_details
        return result

    def _granted_source(self, request: Any) -> GrantedAuthorization | None:
        if not tracking():
            return None
        if request.grant_type == "authorization_code":
            return getattr(request, "par_granted", None)
        if request.grant_type == "refresh_token":
            previous = getattr(request, "refresh_token_instance", None)
            if previous is not None:
                return GrantedAuthorization.objects.filter(refresh_token=previous).first()
        return None

    # Revocation ------------------------------------------------------------------------

    def revoke_token(self, token: str, token_type_hint: str, request: Any, *args: Any, **kwargs: Any) -> Any:
        rows: list[tuple[Any, str, int]] = []
        application_pk = getattr(getattr(request, "client", None), "pk", None)
        if tracking() and par_settings.AUDIT_TRAIL and application_pk is not None:
            checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
            for row in GrantedAuthorization.objects.filter(
                Q(access_token__token_checksum=checksum, access_token__application_id=application_pk)
                | Q(refresh_token__token_checksum=checksum, refresh_token__application_id=application_pk),
                audit_id__isnull=False,
            ).select_related("access_token", "refresh_token"):
                if row.access_token is not None and row.access_token.token_checksum == checksum:
                    rows.append((row.audit_id, "access_token", row.access_token_id))
                else:
                    rows.append((row.audit_id, "refresh_token", row.refresh_token_id))
        result = super().revoke_token(token, token_type_hint, request, *args, **kwargs)  # type: ignore[misc]
        for audit_id, kind, token_id in rows:
            audit.revoked(audit_id, request.client.client_id, kind, token_id)
        return result


# For resource servers ------------------------------------------------------------------


def authorization_details_of(access_token: Any) -> list[dict[str, Any]] | None:
    """The ``authorization_details`` an access token (DOT's AccessToken) was granted, or None."""
    if access_token is None or getattr(access_token, "pk", None) is None:
        return None
    return (
        GrantedAuthorization.objects.filter(access_token=access_token)
        .values_list("authorization_details", flat=True)
        .first()
    )


def access_token_of(request: Any) -> Any:
    """The access token a request was authenticated with, however DOT authenticated it.

    Django REST framework's ``OAuth2Authentication`` puts it in ``request.auth``; DOT's
    ``OAuth2ExtraTokenMiddleware`` in ``request.access_token``. Otherwise (DOT's protected views
    record only the user) the bearer token in the ``Authorization`` header is looked up.
    """
    AccessToken = get_access_token_model()  # noqa: N806 - a model class
    for name in ("auth", "access_token"):
        candidate = getattr(request, name, None)
        if isinstance(candidate, AccessToken):
            return candidate
    meta = getattr(request, "META", {})
    scheme, _, value = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    checksum = hashlib.sha256(value.strip().encode("utf-8")).hexdigest()
    return AccessToken.objects.filter(token_checksum=checksum).first()


def authorization_details(request: Any) -> list[dict[str, Any]] | None:
    """The ``authorization_details`` granted to the access token ``request`` was authenticated with.

    Call it in a view DOT protects (``ProtectedResourceView``, ``@protected_resource``) or in a
    Django REST framework view authenticated by DOT's ``OAuth2Authentication``. None when the
    token carries none (or the request has no valid token, which such a view never lets in).
    """
    token = access_token_of(request)
    if token is None or not token.is_valid():
        return None
    return authorization_details_of(token)


class AuthorizationDetailsIntrospectTokenView(IntrospectTokenView):
    """DOT's introspection endpoint (RFC 7662), adding ``authorization_details`` (RFC 9396 §9.2).

    Route it in place of DOT's ``introspect/``, before DOT's URLs are included.
    """

    @staticmethod
    def get_token_response(token_value: str | None = None) -> Any:
        response = IntrospectTokenView.get_token_response(token_value)
        if token_value is None or response.status_code != 200:
            return response
        checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
        token = get_access_token_model().objects.filter(token_checksum=checksum).first()
        details = authorization_details_of(token)
        if details is None:
            return response
        data = json.loads(response.content)
        if not data.get("active"):
            return response
        data[PARAMETER] = details
        return JsonResponse(data, status=response.status_code)
