"""The audit trail: one function per event sends its signal and writes its log line.

Log lines go to the ``django_oauth_par.audit`` logger with structured fields in
``extra`` (``par_event``, ``par_client_id``, ``par_pushed_request_id``, ``par_stage``,
``par_error``, ``par_reason``, ``par_outcome``, ``par_remote_addr``), so a JSON
formatter can ship them as they are; the message repeats them as ``name=value`` with
each value JSON-encoded (see :func:`log_fields`). They carry identifiers, never a
secret, a ``request_uri`` or a pushed value.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.dispatch import Signal
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
    request: HttpRequest,
    pushed_request: PushedRequest | None,
    **facts: Any,
) -> None:
    """Write the event's log line and send its signal with the same facts."""
    client_id = facts.pop("client_id", None)
    if client_id is None and pushed_request is not None:
        client_id = pushed_request.application.client_id
    fields = {
        "client_id": printable(client_id),
        "pushed_request_id": pushed_request.pk if pushed_request is not None else None,
        **facts,
    }
    extra = {"par_event": event, "par_remote_addr": request.META.get("REMOTE_ADDR")}
    extra.update({f"par_{name}": value for name, value in fields.items()})
    log.info("%s%s", message, log_fields(fields), extra=extra)
    signal.send(
        sender=PushedRequest, request=request, pushed_request=pushed_request, client_id=client_id, **facts
    )


def pushed(request: HttpRequest, pushed_request: PushedRequest) -> None:
    _emit("pushed", request_pushed, "pushed authorization request stored", request, pushed_request)


def redeemed(request: HttpRequest, pushed_request: PushedRequest, outcome: str) -> None:
    _emit(
        "redeemed",
        request_redeemed,
        "pushed authorization request spent",
        request,
        pushed_request,
        outcome=outcome,
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
