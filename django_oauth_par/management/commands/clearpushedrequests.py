from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from django_oauth_par.conf import par_settings
from django_oauth_par.models import AuditChain, AuditEvent, GrantedAuthorization, PushedRequest


def delete_in_batches(queryset: QuerySet[Any], batch_size: int) -> int:
    """Delete ``queryset`` a batch at a time, walking the primary key once.

    Each statement is short, so the table is never locked for long, and walking by key
    means no batch re-reads or sorts what the previous ones passed over.
    """
    deleted = 0
    last = 0
    while True:
        ids = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        last = ids[-1]
        deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]


class Command(BaseCommand):
    help = (
        "Delete pushed authorization requests that are redeemed or expired, audit events older than "
        "AUDIT_RETENTION_DAYS, and granted authorizations whose code and tokens are gone. Safe to run "
        "from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Rows deleted per statement (default 5000)."
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        redeemed = delete_in_batches(PushedRequest.objects.filter(redeemed_at__isnull=False), batch_size)
        expired = delete_in_batches(
            PushedRequest.objects.filter(redeemed_at__isnull=True, expires_at__lte=now), batch_size
        )
        self.stdout.write(f"Deleted {redeemed} redeemed and {expired} expired pushed authorization requests.")
        # The audit chain outlives the requests: its rows stay for the retention period.
        cutoff = now - timedelta(days=par_settings.AUDIT_RETENTION_DAYS)
        events = delete_in_batches(AuditEvent.objects.filter(at__lt=cutoff), batch_size)
        chains = delete_in_batches(
            AuditChain.objects.filter(created_at__lt=cutoff).exclude(
                Exists(AuditEvent.objects.filter(audit_id=OuterRef("pk")))
            ),
            batch_size,
        )
        # Rows whose code was exchanged or expired and whose tokens DOT deleted carry nothing.
        granted = delete_in_batches(
            GrantedAuthorization.objects.filter(grant=None, access_token=None, refresh_token=None), batch_size
        )
        self.stdout.write(
            f"Deleted {events} audit events and {chains} audit chains older than "
            f"{par_settings.AUDIT_RETENTION_DAYS} days, and {granted} granted authorizations with no "
            "code or token left."
        )
