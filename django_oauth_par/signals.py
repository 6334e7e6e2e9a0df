"""Audit signals. Each is sent with ``sender=PushedRequest`` and the keyword arguments listed.

Receivers get identifiers only: never a secret, a ``request_uri`` or a pushed value.
"""

from __future__ import annotations

from django.dispatch import Signal

#: A push was accepted: ``request``, ``pushed_request``.
request_pushed = Signal()
#: A pushed request was spent on an authorization response: ``request``, ``pushed_request``,
#: ``outcome`` (``"code"`` or the error sent to the client, such as ``"access_denied"``).
request_redeemed = Signal()
#: A push or a use of a reference was refused: ``request``, ``stage`` (``"push"`` or
#: ``"authorization"``), ``error`` (the OAuth error code), ``reason`` (a short word such as
#: ``"expired"`` or ``"par_required"``), ``client_id`` (or None), ``pushed_request`` (or None).
request_rejected = Signal()
#: An expired reference was presented: ``request``, ``pushed_request``.
request_expired = Signal()
