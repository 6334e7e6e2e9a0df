"""The management commands: ``clearpushedrequests`` deletes redeemed and expired pushed requests in
batches and keeps pending ones.

The audit chain's export (``exportauditevents``) and its retention are tested with the chain,
in test_audit_chain.py.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_oauth_par.models import PushedRequest

from .helpers import auth_params, push

# --- clearpushedrequests -------------------------------------------------------------------------


def make_row(application, *, expires_in=60, redeemed=False):
    now = timezone.now()
    return PushedRequest.objects.create(
        application=application,
        digest=secrets.token_hex(32),
        parameters=[["state", "s"]],
        created_at=now - timedelta(seconds=120),
        expires_at=now + timedelta(seconds=expires_in),
        redeemed_at=now - timedelta(seconds=1) if redeemed else None,
    )


def clear(*args):
    out = StringIO()
    call_command("clearpushedrequests", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def counts(output):
    match = re.search(r"(\d+) redeemed and (\d+) expired", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def test_clear_deletes_redeemed_and_expired_keeps_pending(confidential, other_client):
    pending = [make_row(confidential), make_row(other_client, expires_in=3600)]
    redeemed = [make_row(confidential, redeemed=True), make_row(other_client, redeemed=True)]
    redeemed_and_expired = make_row(confidential, redeemed=True, expires_in=-30)
    expired = [make_row(confidential, expires_in=-1), make_row(other_client, expires_in=-3600)]
    output = clear()
    assert counts(output) == (3, 2)
    remaining = set(PushedRequest.objects.values_list("pk", flat=True))
    assert remaining == {row.pk for row in pending}
    gone = [*redeemed, redeemed_and_expired, *expired]
    assert not PushedRequest.objects.filter(pk__in=[row.pk for row in gone]).exists()


def test_clear_on_real_pushes(client, confidential):
    uris = [push(client, auth_params()).json()["request_uri"] for _ in range(3)]
    assert len(set(uris)) == 3
    rows = list(PushedRequest.objects.order_by("pk"))
    PushedRequest.objects.filter(pk=rows[0].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    PushedRequest.objects.filter(pk=rows[1].pk).update(redeemed_at=timezone.now())
    assert counts(clear()) == (1, 1)
    assert list(PushedRequest.objects.values_list("pk", flat=True)) == [rows[2].pk]


def test_clear_with_nothing_to_do(confidential):
    keep = make_row(confidential)
    assert counts(clear()) == (0, 0)
    assert list(PushedRequest.objects.values_list("pk", flat=True)) == [keep.pk]


def test_clear_twice_reports_zero_the_second_time(confidential):
    make_row(confidential, redeemed=True)
    make_row(confidential, expires_in=-5)
    assert counts(clear()) == (1, 1)
    assert counts(clear()) == (0, 0)


@pytest.mark.parametrize("batch_size", ["1", "7"])
def test_clear_in_small_batches(confidential, other_client, batch_size):
    for index in range(12):
        make_row(confidential if index % 2 else other_client, redeemed=True)
    for _ in range(13):
        make_row(confidential, expires_in=-10)
    pending = {make_row(other_client).pk for _ in range(5)}
    assert counts(clear("--batch-size", batch_size)) == (12, 13)
    assert set(PushedRequest.objects.values_list("pk", flat=True)) == pending


def test_clear_batch_size_keyword(confidential):
    for _ in range(4):
        make_row(confidential, redeemed=True)
    out = StringIO()
    call_command("clearpushedrequests", batch_size=1, stdout=out)
    assert counts(out.getvalue()) == (4, 0)
    assert PushedRequest.objects.count() == 0


@pytest.mark.parametrize("batch_size", ["0", "-3"])
def test_clear_rejects_non_positive_batch_size(confidential, batch_size):
    make_row(confidential, redeemed=True)
    make_row(confidential, expires_in=-10)
    with pytest.raises(CommandError):
        clear("--batch-size", batch_size)
    assert PushedRequest.objects.count() == 2


def test_clear_rejects_non_integer_batch_size(confidential):
    make_row(confidential, redeemed=True)
    with pytest.raises(CommandError):
        clear("--batch-size", "ten")
    assert PushedRequest.objects.count() == 1
