"""When the user last logged in, as this browser session knows it.

A pushed ``prompt=login`` is satisfied by a login after the prompt. Django's
``login()`` keeps the session key when the same user logs in again and does not
always update ``last_login``, so the moment is recorded in the session itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

SESSION_KEY = "_oauth_par_logged_in_at"


@receiver(user_logged_in, dispatch_uid="django_oauth_par.record_login")
def record_login(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_KEY] = timezone.now().isoformat()


def last_login_of(request: HttpRequest) -> datetime | None:
    session = getattr(request, "session", None)
    value = session.get(SESSION_KEY) if session is not None else None
    return parse_datetime(value) if isinstance(value, str) else None
