from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from django_oauth_par.models import AuditEvent


def parse_since(value: str) -> datetime:
    """``2026-11-29`` (midnight, in the current time zone) or an ISO 8601 date and time."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def as_line(event: AuditEvent) -> str:
    return json.dumps(
        {
            "audit_id": str(event.audit_id),
            "event": event.event,
            "at": event.at.isoformat(),
            "client_id": event.client_id or None,
            "user_id": str(event.user_id) if event.user_id is not None else None,
            "username": event.user.get_username() if event.user is not None else None,
            "facts": event.facts,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


class Command(BaseCommand):
    help = (
        "Write the audit events of pushed authorization requests as JSON Lines (one object per line, "
        "oldest first), for a SIEM. Nothing secret is in them: no reference, secret, code or token value."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", help="Only events at or after this date or ISO 8601 date and time, e.g. 2026-11-29."
        )
        parser.add_argument("--client", help="Only events of the client with this client_id.")

    def handle(self, *args: Any, since: str | None, client: str | None, **options: Any) -> None:
        events = AuditEvent.objects.select_related("user").order_by("at", "id")
        if since is not None:
            try:
                events = events.filter(at__gte=parse_since(since))
            except ValueError:
                raise CommandError(
                    "--since must be a date (2026-11-29) or an ISO 8601 date and time."
                ) from None
        if client is not None:
            events = events.filter(client_id=client)
        for event in events.iterator(chunk_size=2000):
            self.stdout.write(as_line(event))
