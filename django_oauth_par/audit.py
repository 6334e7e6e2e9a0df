"""The audit trail: one function per event sends its signal and writes its log line.

Log lines go to the ``django_oauth_par.audit`` logger with structured fields in
``extra`` (``par_event``, ``par_client_id``, ``par_pushed_request_id``, ``par_stage``,
``par_error``, ``par_reason``, ``par_outcome``, ``par_remote_addr``), so a JSON
formatter can ship them as they are. They carry identifiers, never a secret, a
``request_uri`` or a pushed value.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

from .exceptions import ParError
from .models import PushedRequest
from .signals import request_expired, request_pushed, request_redeemed, request_rejected

log = logging.getLogger("django_oauth_par.audit")


def printable(value: str | None, limit: int = 80) -> str | None:
    """A client-supplied identifier made safe for a log line: printable and short."""
    if value is None:
        return None
    value = "".join(ch if ch.isprintable() else "?" for ch in value)
    return value if len(value) <= limit else value[:limit] + "…"


def _write(event: str, request: HttpRequest, message: str, **fields: Any) -> None:
    extra = {"par_event": event, "par_remote_addr": request.META.get("REMOTE_ADDR")}
    extra.update({f"par_{name}": value for name, value in fields.items()})
    details = " ".join(f"{name}={value}" for name, value in fields.items() if value is not None)
    log.info("%s %s", message, details, extra=extra)


def pushed(request: HttpRequest, pushed_request: PushedRequest) -> None:
    client_id = pushed_request.application.client_id
    _write(
        "pushed",
        request,
        "pushed authorization request stored",
        client_id=printable(client_id),
        pushed_request_id=pushed_request.pk,
    )
    request_pushed.send(sender=PushedRequest, request=request, pushed_request=pushed_request)


def redeemed(request: HttpRequest, pushed_request: PushedRequest, outcome: str) -> None:
    _write(
        "redeemed",
        request,
        "pushed authorization request spent",
        client_id=printable(pushed_request.application.client_id),
        pushed_request_id=pushed_request.pk,
        outcome=outcome,
    )
    request_redeemed.send(
        sender=PushedRequest, request=request, pushed_request=pushed_request, outcome=outcome
    )


def rejected(
    request: HttpRequest, stage: str, error: ParError, pushed_request: PushedRequest | None = None
) -> None:
    client_id = error.client_id or (pushed_request.application.client_id if pushed_request else None)
    _write(
        "rejected",
        request,
        f"{stage} refused",
        stage=stage,
        error=error.error,
        reason=error.reason,
        client_id=printable(client_id),
        pushed_request_id=pushed_request.pk if pushed_request else None,
    )
    request_rejected.send(
        sender=PushedRequest,
        request=request,
        stage=stage,
        error=error.error,
        reason=error.reason,
        client_id=client_id,
        pushed_request=pushed_request,
    )


def expired(request: HttpRequest, pushed_request: PushedRequest) -> None:
    _write(
        "expired",
        request,
        "expired pushed authorization request presented",
        client_id=printable(pushed_request.application.client_id),
        pushed_request_id=pushed_request.pk,
    )
    request_expired.send(sender=PushedRequest, request=request, pushed_request=pushed_request)
