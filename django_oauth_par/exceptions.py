"""The one error type, ParError, and the answers built from it."""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger("django_oauth_par")


class ParError(Exception):
    """An OAuth error answer: the ``error`` code, a description safe to show, and the status.

    The description is shown to clients and browsers as it is, so it must never
    carry a secret, a ``request_uri`` or a pushed value. ``reason`` is a short
    machine-readable word for the audit trail (``expired``, ``par_required``, ...);
    it defaults to the error code. ``client_id`` is the client concerned, when known.
    """

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})
        self.reason = reason or error
        self.client_id: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


#: What a 401 invalid_client names (RFC 6749 §5.2): the scheme of client_secret_basic.
INVALID_CLIENT_HEADERS = {"WWW-Authenticate": 'Basic realm="oauth"'}

#: The answer when the database cannot serve a request (503).
UNAVAILABLE = ParError(
    "temporarily_unavailable",
    "The server cannot complete this request now. Try again.",
    503,
    reason="database_error",
)


def database_unavailable(what: str) -> ParError:
    """The answer to a database fault while serving ``what``; the fault is logged, with its traceback.

    Call it from the ``except DatabaseError`` clause that handles the fault. The log line names
    what failed, never the request's values.
    """
    log.exception("%s failed: database error", what)
    return UNAVAILABLE


def cache_unavailable() -> ParError:
    """The answer when the shared cache (rates, used ``jti`` values) fails: 503, as for the database.

    A new error each time: the push records the client on it, and requests run concurrently.
    """
    return ParError(
        "temporarily_unavailable",
        "The server cannot complete this request now. Try again.",
        503,
        reason="cache_error",
    )
