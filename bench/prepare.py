"""In-process helpers of the benchmark, run by ``bench/run.py`` as ``python -m bench.prepare COMMAND``.

Each command sets Django up with ``bench.settings`` (the database comes from ``DATABASE_URL``)
and prints one JSON object on its last line of output.

- ``setup --base-url URL [--signed-client-jwks JWKS]``: migrate, run the demo's ``setup_demo``, add
  the benchmark's clients; with a JWK Set, also the ``private_key_jwt`` client that signs its requests.
- ``warmcold``: time the verified-secret check and a whole client authentication, cache cold and warm.
- ``fill --rows N``: bulk-insert N expired pushed requests with one SQL statement.
- ``count``: how many pushed requests the table holds.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

SECRET = "demo-rp-secret"  # the demo's, used by every benchmark client
CODE_HASHED = "demo-rp"  # made by setup_demo: authorization code, hashed secret
CODE_PLAIN = "bench-code-plain"
CREDENTIALS_HASHED = "bench-cc-hashed"
CREDENTIALS_PLAIN = "bench-cc-plain"
SIGNED = "bench-signed"  # private_key_jwt, signed request objects required


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def emit(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def setup(base_url: str, signed_client_jwks: str = "") -> dict[str, Any]:
    import secrets

    from django.core.management import call_command
    from django.db import connection
    from oauth2_provider.models import get_application_model

    from bench.common import register_client_keys

    call_command("migrate", interactive=False, verbosity=0)
    call_command("setup_demo", base_url=[base_url], stdout=open(os.devnull, "w"))  # noqa: SIM115
    applications = get_application_model()
    redirect_uris = f"{base_url.rstrip('/')}/demo/callback/"
    for client_id, grant, hashed in (
        (CODE_PLAIN, applications.GRANT_AUTHORIZATION_CODE, False),
        (CREDENTIALS_HASHED, applications.GRANT_CLIENT_CREDENTIALS, True),
        (CREDENTIALS_PLAIN, applications.GRANT_CLIENT_CREDENTIALS, False),
    ):
        app = applications.objects.filter(client_id=client_id).first() or applications(client_id=client_id)
        app.name = f"Benchmark client {client_id}"
        app.client_type = applications.CLIENT_CONFIDENTIAL
        app.authorization_grant_type = grant
        app.redirect_uris = redirect_uris if grant == applications.GRANT_AUTHORIZATION_CODE else ""
        app.algorithm = applications.RS256_ALGORITHM if grant == applications.GRANT_AUTHORIZATION_CODE else ""
        app.hash_client_secret = hashed
        app.client_secret = SECRET
        app.skip_authorization = False
        app.save()
    if signed_client_jwks:
        app = applications.objects.filter(client_id=SIGNED).first() or applications(client_id=SIGNED)
        app.name = f"Benchmark client {SIGNED}"
        app.client_type = applications.CLIENT_CONFIDENTIAL
        app.authorization_grant_type = applications.GRANT_AUTHORIZATION_CODE
        app.redirect_uris = redirect_uris
        app.algorithm = applications.RS256_ALGORITHM
        # It authenticates with its key only; the secret is one nobody knows.
        app.hash_client_secret = False
        app.client_secret = secrets.token_urlsafe(32)
        app.skip_authorization = False
        app.save()
        register_client_keys(app, "private_key_jwt", signed_client_jwks, require_signed_request_object=True)
    stored = {
        app.client_id: app.client_secret.split("$", 1)[0] if app.hash_client_secret else "plain"
        for app in applications.objects.filter(
            client_id__in=[CODE_HASHED, CODE_PLAIN, CREDENTIALS_HASHED, CREDENTIALS_PLAIN]
        )
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            cursor.execute("SELECT sqlite_version()")
            version = f"SQLite {cursor.fetchone()[0]}"
    return {"database_version": version, "secret_storage": stored}


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def warmcold(cold_runs: int, warm_runs: int) -> dict[str, Any]:
    """Cold (nothing cached: the full hash) against warm (a cache hit) for one client secret.

    Two levels: the secret check itself (the validator's ``_check_secret``), and a whole
    client authentication as DOT's token endpoint does it (``authenticate_client`` with a
    Basic header: the client's row is loaded from the database, then the secret checked).
    Every cold run checks against a hash made afresh (a new salt), which no cache entry can
    match, so the benchmark needs no knowledge of the cache's keys and never clears a cache.
    """
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from oauth2_provider.models import get_application_model
    from oauthlib.common import Request as OAuthlibRequest

    from bench.validators import CachedSecretValidator
    from django_oauth_par.conf import par_settings

    assert par_settings.VERIFIED_SECRET_CACHE_SECONDS > 0, "run with BENCH_SECRET_CACHE_SECONDS > 0"
    app = get_application_model().objects.get(client_id=CREDENTIALS_HASHED)
    validator = CachedSecretValidator()
    basic = base64.b64encode(f"{CREDENTIALS_HASHED}:{SECRET}".encode()).decode()

    def check(stored: str) -> bool:
        return validator._check_secret(SECRET, stored)

    def authenticate(stored: str) -> bool:
        if app.client_secret != stored:
            app.client_secret = stored  # already hashed: saved as it is
            app.save(update_fields=["client_secret"])
        request = OAuthlibRequest(
            "http://127.0.0.1/o/token/",
            "POST",
            "grant_type=client_credentials",
            {"HTTP_AUTHORIZATION": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        return validator.authenticate_client(request)

    results: dict[str, Any] = {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}
    for name, function in (("check", check), ("authenticate", authenticate)):
        hashes = [make_password(SECRET) for _ in range(cold_runs)]
        cold: list[float] = []
        for stored in hashes:
            if name == "authenticate":
                app.client_secret = stored
                app.save(update_fields=["client_secret"])
            start = time.perf_counter()
            ok = function(stored)
            cold.append(time.perf_counter() - start)
            assert ok, f"{name}: the right secret was refused"
        stored = hashes[-1]  # verified just now: in the cache
        warm: list[float] = []
        for _ in range(warm_runs):
            start = time.perf_counter()
            ok = function(stored)
            warm.append(time.perf_counter() - start)
            assert ok
        results[name] = {
            "cold_us": _median_us(cold),
            "warm_us": _median_us(warm),
            "warm_p99_us": statistics.quantiles(warm, n=100)[98] * 1e6,
            "cold_runs": cold_runs,
            "warm_runs": warm_runs,
            "speedup": statistics.median(cold) / statistics.median(warm),
        }
    return results


def fill(rows: int) -> dict[str, Any]:
    """Insert ``rows`` expired, unredeemed pushed requests, copies of one row made by the ORM.

    Copying a template row in SQL keeps every column (and any column added later) valid.
    """
    from django.db import connection, transaction
    from django.utils import timezone
    from oauth2_provider.models import get_application_model

    from django_oauth_par.models import PushedRequest

    app = get_application_model().objects.get(client_id=CODE_HASHED)
    past = timezone.now() - timedelta(hours=2)
    template = PushedRequest.objects.create(
        application=app,
        digest="0" * 64,
        parameters=[["response_type", "code"], ["client_id", app.client_id], ["scope", "read"]],
        created_at=past,
        expires_at=past + timedelta(seconds=60),
    )
    table = connection.ops.quote_name(PushedRequest._meta.db_table)
    columns = [
        field.column for field in PushedRequest._meta.concrete_fields if field.column not in ("id", "digest")
    ]
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} ({quoted}, digest) "  # noqa: S608 - names from the model
                f"SELECT {quoted}, encode(sha256(('bench-' || g)::bytea), 'hex') "
                f"FROM {table} CROSS JOIN generate_series(1, %s) AS g WHERE id = %s",
                [rows, template.pk],
            )
        else:
            cursor.execute(
                "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %s) "  # noqa: S608
                f"INSERT INTO {table} ({quoted}, digest) "
                f"SELECT {quoted}, printf('%%064d', n) FROM {table}, seq WHERE id = %s",
                [rows, template.pk],
            )
        template.delete()
    inserted = time.perf_counter() - start
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    return {"rows": PushedRequest.objects.count(), "insert_seconds": inserted}


def count() -> dict[str, Any]:
    from django_oauth_par.models import PushedRequest

    return {"rows": PushedRequest.objects.count()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.prepare")
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("setup")
    command.add_argument("--base-url", required=True)
    command.add_argument("--signed-client-jwks", default="", help="the public keys of the signing client")
    command = commands.add_parser("warmcold")
    command.add_argument("--cold", type=int, default=5)
    command.add_argument("--warm", type=int, default=2000)
    command = commands.add_parser("fill")
    command.add_argument("--rows", type=int, required=True)
    commands.add_parser("count")
    args = parser.parse_args(argv)
    django_setup()
    if args.command == "setup":
        emit(setup(args.base_url, args.signed_client_jwks))
    elif args.command == "warmcold":
        emit(warmcold(args.cold, args.warm))
    elif args.command == "fill":
        emit(fill(args.rows))
    else:
        emit(count())


if __name__ == "__main__":
    main()
