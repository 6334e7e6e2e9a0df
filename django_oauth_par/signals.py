"""Audit signals. Each is sent with ``sender=PushedRequest``, ``request``, ``pushed_request``
(or None), ``client_id`` (or None) and the keyword arguments listed.

Receivers get the stored row itself, pushed parameters included, so that they can act on
it; the row never holds a client secret or the ``request_uri`` (only its digest). What a
receiver writes to a log is its own to keep free of pushed values.
"""

from __future__ import annotations

from django.dispatch import Signal

#: A push was accepted.
request_pushed = Signal()
#: A pushed request was spent on an authorization response:
#: ``outcome`` (``"code"`` or the error sent to the client, such as ``"access_denied"``).
request_redeemed = Signal()
#: A push or a use of a reference was refused: ``stage`` (``"push"`` or ``"authorization"``),
#: ``error`` (the OAuth error code), ``reason`` (a short word such as ``"expired"`` or
#: ``"par_required"``).
request_rejected = Signal()
#: An expired reference was presented.
request_expired = Signal()
