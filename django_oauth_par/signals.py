"""Audit signals. Each is sent with ``sender=PushedRequest``, ``request`` (None at DOT's token and
revocation endpoints), ``pushed_request`` (or None), ``client_id`` (or None), ``audit_id`` (the
pushed request's stable audit id, or None) and the keyword arguments listed.

Receivers get the stored row itself, pushed parameters included, so that they can act on
it; the row never holds a client secret or the ``request_uri`` (only its digest). What a
receiver writes to a log is its own to keep free of pushed values.
"""

from __future__ import annotations

from django.dispatch import Signal

#: A push was accepted.
request_pushed = Signal()
#: A pushed request was redeemed for an authorization response:
#: ``outcome`` (``"code"`` or the error sent to the client, such as ``"access_denied"``).
request_redeemed = Signal()
#: A push or a use of a reference was refused: ``stage`` (``"push"`` or ``"authorization"``),
#: ``error`` (the OAuth error code), ``reason`` (a short word such as ``"expired"`` or
#: ``"par_required"``).
request_rejected = Signal()
#: An expired reference was presented.
request_expired = Signal()
#: The consent page for a pushed request was shown to ``request.user``.
consent_shown = Signal()
#: The authorization request was decided: ``decision`` (``"allow"`` or ``"deny"``), ``consent``
#: (``"given"`` on the consent form, ``"skipped"`` for a client that needs none) and, when allowed,
#: ``scope``, ``resource`` and ``authorization_details`` as approved.
request_decided = Signal()
#: DOT stored the authorization code: ``grant_id`` (its Grant row), ``scope``, ``expires``.
code_issued = Signal()
#: DOT issued tokens for the code: ``access_token_id``, ``refresh_token_id``, ``scope``, ``resource``,
#: ``authorization_details`` and ``expires``.
token_issued = Signal()
#: The tokens were refreshed: as ``token_issued``, plus ``previous_refresh_token_id``.
token_refreshed = Signal()
#: A token that came of a pushed request was revoked: ``token_type`` (``"access_token"`` or
#: ``"refresh_token"``) and ``token_id``.
token_revoked = Signal()
