from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils import timezone

from django_oauth_par.models import PushedRequest


def delete_in_batches(queryset: QuerySet[PushedRequest], batch_size: int) -> int:
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
        deleted += PushedRequest.objects.filter(pk__in=ids).delete()[0]


class Command(BaseCommand):
    help = "Delete pushed authorization requests that are consumed or expired. Safe to run from cron."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Rows deleted per statement (default 5000)."
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        consumed = delete_in_batches(PushedRequest.objects.filter(consumed_at__isnull=False), batch_size)
        expired = delete_in_batches(
            PushedRequest.objects.filter(consumed_at__isnull=True, expires_at__lte=now), batch_size
        )
        self.stdout.write(f"Deleted {consumed} consumed and {expired} expired pushed authorization requests.")
