"""The audit trail: one function per event sends its signal, writes its log line and stores its row.

Log lines go to the ``django_oauth_par.audit`` logger with structured fields in
``extra`` (``par_event``, ``par_client_id``, ``par_pushed_request_id``, ``par_audit_id``,
``par_stage``, ``par_error``, ``par_reason``, ``par_outcome``, ``par_remote_addr``, ...), so
a JSON formatter can ship them as they are; the message repeats them as ``name=value`` with
each value JSON-encoded (see :func:`log_fields`). They carry identifiers, never a secret, a
``request_uri`` or a pushed value.

Each event that belongs to a pushed request is also stored as an :class:`AuditEvent` row
under the request's audit id (``AUDIT_TRAIL``), with the values a log line must not carry
(scopes, resources, ``authorization_details`` as approved) in its ``facts``; the values of
``AUDIT_SENSITIVE_KEYS`` are stored as digests only. No row holds a reference, a secret, a
code or a token value: tokens and codes appear by their database ids.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from uuid import UUID

from django.db import models, router, transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from . import signals
from .authorization_details import of_pushed_request
from .conf import par_settings
from .exceptions import ParError
from .models import CLIENT_ID_LENGTH, AuditChain, AuditEvent, PushedRequest
from .signals import request_expired, request_pushed, request_redeemed, request_rejected

log = logging.getLogger("django_oauth_par.audit")
DIGEST_SALT = "django_oauth_par.audit.sensitive-value"


def printable(value: str | None, limit: int = 80) -> str | None:
    """A client-supplied identifier made safe for a log line: printable and short."""
    if value is None:
        return None
    value = "".join(ch if ch.isprintable() else "?" for ch in value)
    return value if len(value) <= limit else value[:limit] + "…"


def log_fields(fields: dict[str, Any]) -> str:
    """`` name=value`` for each field that is set, every value written as JSON in ASCII.

    A client chooses its ``client_id`` (and, through its redirect URI, some outcomes):
    quoted and escaped, a value with spaces, ``=``, quotes, newlines or terminal escapes
    stays one value of one field on one line, and cannot pose as another field or line.
    """
    pairs = ((name, value) for name, value in fields.items() if value is not None)
    return "".join(f" {name}={json.dumps(value, ensure_ascii=True, default=str)}" for name, value in pairs)


def _emit(
    event: str,
    signal: Signal,
    message: str,
    request: HttpRequest | None,
    pushed_request: PushedRequest | None,
    *,
    audit_id: UUID | None = None,
    user: Any = None,
    recorded: Mapping[str, Any] | None = None,
    **facts: Any,
) -> None:
    """Write the event's log line, send its signal and store its row, all with the same facts.

    ``facts`` are identifiers and short words, safe for a log line. ``recorded`` holds what only
    the signal and the stored row get (pushed and approved values). ``request`` is None for
    events of DOT's token and revocation endpoints, which have no Django request to hand.
    """
    client_id = facts.pop("client_id", None)
    if client_id is None and pushed_request is not None:
        client_id = pushed_request.application.client_id
    if audit_id is None and pushed_request is not None:
        audit_id = pushed_request.audit_id
    fields = {
        "client_id": printable(client_id),
        "pushed_request_id": pushed_request.pk if pushed_request is not None else None,
        "audit_id": str(audit_id) if audit_id is not None else None,
        **facts,
    }
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    extra = {"par_event": event, "par_remote_addr": address}
    extra.update({f"par_{name}": value for name, value in fields.items()})
    log.info("%s%s", message, log_fields(fields), extra=extra)
    recorded = dict(recorded or {})
    signal.send(
        sender=PushedRequest,
        request=request,
        pushed_request=pushed_request,
        client_id=client_id,
        audit_id=audit_id,
        **facts,
        **recorded,
    )
    if audit_id is not None and par_settings.AUDIT_TRAIL:
        if user is None and request is not None:
            user = getattr(request, "user", None)
        AuditEvent.objects.create(
            audit_id=audit_id,
            event=event,
            client_id=(client_id or "")[:CLIENT_ID_LENGTH],
            user=user if getattr(user, "is_authenticated", False) else None,
            facts=digested({**facts, **recorded}),
        )


def digested(value: Any) -> Any:
    """``value`` with the value of every key named in ``AUDIT_SENSITIVE_KEYS`` replaced by a digest.

    The digest is a keyed HMAC (key derived from ``SECRET_KEY``): equal values give equal
    digests, so a stored event can be matched against a known value, but a small value space
    (an account number) cannot be searched without the key.
    """
    sensitive = set(par_settings.AUDIT_SENSITIVE_KEYS)
    if not sensitive:
        return value

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: digest(entry) if key in sensitive else walk(entry) for key, entry in item.items()}
        if isinstance(item, list):
            return [walk(entry) for entry in item]
        return item

    return walk(value)


def digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "hmac-sha256:" + salted_hmac(DIGEST_SALT, text, algorithm="sha256").hexdigest()


def pushed_values(pushed_request: PushedRequest) -> dict[str, Any]:
    """The approved values of a pushed request, as its events record them."""
    pairs = pushed_request.parameter_pairs
    params = dict(pairs)
    return {
        "scope": params.get("scope", "").split(),
        "resource": [value for name, value in pairs if name == "resource"],
        "authorization_details": of_pushed_request(pushed_request),
    }


def user_of(request: HttpRequest | None) -> Any:
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def written_with(model: type[models.Model]) -> AbstractContextManager[Any]:
    """One transaction for a ``model`` row and the audit rows written with it (one commit);
    none when the audit trail writes nothing."""
    if not par_settings.AUDIT_TRAIL:
        return nullcontext()
    return transaction.atomic(using=router.db_for_write(model))


def stored_together(pushed_request: PushedRequest) -> AbstractContextManager[Any]:
    """One transaction for the rows an event writes, and none when it writes none.

    Inside a caller's transaction (the push, the code) the rows join it: no savepoint.
    """
    if pushed_request.audit_id is None or not par_settings.AUDIT_TRAIL:
        return nullcontext()
    return transaction.atomic(using=router.db_for_write(AuditEvent), savepoint=False)


def pushed(request: HttpRequest, pushed_request: PushedRequest) -> None:
    # One transaction for the chain and its first event: a commit is the expensive part of a
    # write, on SQLite above all.
    with stored_together(pushed_request):
        if pushed_request.audit_id is not None and par_settings.AUDIT_TRAIL:
            AuditChain.objects.create(
                id=pushed_request.audit_id,
                application=pushed_request.application,
                client_id=pushed_request.application.client_id,
                created_at=pushed_request.created_at,
            )
        _emit(
            "pushed",
            request_pushed,
            "pushed authorization request stored",
            request,
            pushed_request,
            recorded={**pushed_values(pushed_request), "parameter_names": pushed_request.parameter_names},
        )


def redeemed(request: HttpRequest, pushed_request: PushedRequest, outcome: str) -> None:
    user = user_of(request)
    with stored_together(pushed_request):
        if pushed_request.audit_id is not None and par_settings.AUDIT_TRAIL:
            summary = {"code": "allowed", "access_denied": "denied"}.get(outcome, outcome)
            AuditChain.objects.filter(pk=pushed_request.audit_id).update(outcome=summary, user=user)
        _emit(
            "redeemed",
            request_redeemed,
            "pushed authorization request redeemed",
            request,
            pushed_request,
            outcome=outcome,
        )


def consent_shown(request: HttpRequest, pushed_request: PushedRequest) -> None:
    """The consent page for ``pushed_request`` was shown to ``request.user``."""
    _emit("consent_shown", signals.consent_shown, "consent page shown", request, pushed_request)


def decided(request: HttpRequest, pushed_request: PushedRequest, allowed: bool) -> None:
    """The user allowed or denied the request (or, for a client that skips consent, the server did)."""
    # A POST is the consent form's answer; a GET that decides is a client that skips consent.
    consent = "given" if request.method == "POST" else "skipped"
    _emit(
        "decided",
        signals.request_decided,
        "authorization request decided",
        request,
        pushed_request,
        decision="allow" if allowed else "deny",
        consent=consent,
        recorded=pushed_values(pushed_request) if allowed else {},
    )


def code_issued(request: HttpRequest | None, pushed_request: PushedRequest, grant: Any) -> None:
    """DOT stored an authorization code for ``pushed_request`` (its Grant row; never the code)."""
    _emit(
        "code_issued",
        signals.code_issued,
        "authorization code issued",
        request,
        pushed_request,
        grant_id=grant.pk,
        user=grant.user,
        recorded={"scope": grant.scope.split(), "expires": grant.expires.isoformat()},
    )


def token_issued(
    audit_id: UUID | None,
    client_id: str,
    access_token: Any,
    refresh_token: Any,
    authorization_details: Any,
    previous_refresh_token: Any = None,
) -> None:
    """DOT issued tokens from a pushed request's code (``token_issued``) or refreshed them (``refreshed``)."""
    event, signal = (
        ("refreshed", signals.token_refreshed)
        if previous_refresh_token
        else ("token_issued", signals.token_issued)
    )
    facts: dict[str, Any] = {
        "access_token_id": access_token.pk,
        "refresh_token_id": refresh_token.pk if refresh_token is not None else None,
    }
    if previous_refresh_token is not None:
        facts["previous_refresh_token_id"] = previous_refresh_token.pk
    _emit(
        event,
        signal,
        "access token refreshed" if previous_refresh_token else "access token issued",
        None,
        None,
        audit_id=audit_id,
        user=access_token.user,
        client_id=client_id,
        recorded={
            "scope": access_token.scope.split(),
            "resource": list(access_token.resource or []),
            "authorization_details": authorization_details,
            "expires": access_token.expires.isoformat(),
        },
        **facts,
    )


def revoked(audit_id: UUID | None, client_id: str, kind: str, token_id: int) -> None:
    """A token that came of a pushed request was revoked at DOT's revocation endpoint."""
    _emit(
        "revoked",
        signals.token_revoked,
        "token revoked",
        None,
        None,
        audit_id=audit_id,
        client_id=client_id,
        token_type=kind,
        token_id=token_id,
    )


def rejected(
    request: HttpRequest, stage: str, error: ParError, pushed_request: PushedRequest | None = None
) -> None:
    _emit(
        "rejected",
        request_rejected,
        f"{stage} refused",
        request,
        pushed_request,
        client_id=error.client_id,
        stage=stage,
        error=error.error,
        reason=error.reason,
    )


def expired(request: HttpRequest, pushed_request: PushedRequest) -> None:
    _emit(
        "expired", request_expired, "expired pushed authorization request presented", request, pushed_request
    )
