"""A signed push against a plain-secret push, in one process: throughput and round trips.

::

    .venv/bin/python -m bench.signed_push [--rounds 6] [--batch 150]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oauth_par_bench .venv/bin/python -m bench.signed_push

The signed push is what FAPI 2.0 clients send: ``private_key_jwt`` with an ES256 assertion,
carrying a request object signed with PS256, from a client whose keys are pasted in its policy.
It is compared with a push authenticated by ``client_secret_basic`` with the secret stored plain
(the cheapest secret check DOT has) and with DOT's default PBKDF2 hash. Pushes go through Django's
test client to the real view, database and cache (locmem, or Redis with ``--redis URL``) in
alternated batches (A B, B A, ...); the tokens are signed before the clock starts, because
signing is the client's work, not the server's. For each kind of push it also counts database
statements and cache operations, so the cost of the ``jti`` store shows as a count, not a time.

This measures the server's work per push without HTTP or gunicorn; ``bench/run.py`` measures
whole requests under gunicorn.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SECRET = "bench-secret-of-the-plain-client"
REDIRECT_URI = "https://rp.example/callback"
FORM = "application/x-www-form-urlencoded"
#: Django's test client serves http://testserver: the issuer and the URL a push is posted to.
ISSUER = "http://testserver/o"
PAR_ENDPOINT = "http://testserver/o/par/"
#: The same PKCE challenge in every push: the pushes are never redeemed.
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--redis", default="", help="a Redis URL for the cache (default: locmem)")
    args = parser.parse_args()

    import django
    from django.conf import settings

    if args.redis:
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": args.redis}
        }
    # A hashed secret is only comparable with DOT's default hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    django.setup()
    from django.test.utils import get_runner, setup_test_environment

    setup_test_environment()
    runner = get_runner(settings)(verbosity=0, interactive=False)
    old = runner.setup_databases()
    try:
        run(args.rounds, args.batch)
    finally:
        runner.teardown_databases(old)


def run(rounds: int, batch: int) -> None:
    from django.test import Client

    from bench.common import key_pair

    clients = make_clients()
    http = Client()
    sides: dict[str, Callable[[int], list[tuple[str, dict[str, str]]]]] = {
        "plain secret (client_secret_basic, stored plain)": lambda n: [secret_push("bench-plain")] * n,
        "signed (private_key_jwt ES256 + request object PS256)": lambda n: [
            signed_push(key_pair("EC"), key_pair("RSA")) for _ in range(n)
        ],
    }
    hashed_label = "hashed secret (client_secret_basic, PBKDF2)"
    for make in sides.values():  # warm-up: imports, parsed keys, connections
        send_all(http, make(5))
    figures: dict[str, list[float]] = {label: [] for label in sides}
    cpu: dict[str, list[float]] = {label: [] for label in sides}
    for round_index in range(rounds):
        order = list(sides) if round_index % 2 == 0 else list(reversed(sides))
        for label in order:
            requests = sides[label](batch)
            started, cpu_started = time.perf_counter(), time.process_time()
            send_all(http, requests)
            figures[label].append(batch / (time.perf_counter() - started))
            cpu[label].append((time.process_time() - cpu_started) / batch * 1000)
    hashed = [secret_push("bench-hashed")] * 5
    started = time.perf_counter()
    send_all(http, hashed)
    hashed_rate = len(hashed) / (time.perf_counter() - started)

    plain_label, signed_label = list(sides)
    ratios = [s / p for s, p in zip(figures[signed_label], figures[plain_label], strict=True)]
    print(f"\n{rounds} rounds of {batch} pushes each, in-process, database {clients['vendor']}\n")
    print(
        "| push | pushes/s (median of rounds) | CPU of this process per push "
        "| database statements | cache operations |"
    )
    print("| --- | --- | --- | --- | --- |")
    for label in sides:
        make = sides[label]
        queries, cache_ops = round_trips(http, make(1)[0])
        print(
            f"| {label} | {statistics.median(figures[label]):.0f} | {statistics.median(cpu[label]):.2f} ms | "
            f"{queries} | {sum(cache_ops.values())} ({format_ops(cache_ops)}) |"
        )
    queries, cache_ops = round_trips(http, secret_push("bench-hashed"))
    print(f"| {hashed_label} | {hashed_rate:.1f} | | {queries} | {sum(cache_ops.values())} |")
    print(
        f"\nsigned / plain throughput: median {statistics.median(ratios):.2f} "
        f"(rounds: {', '.join(f'{ratio:.2f}' for ratio in ratios)})"
    )


def make_clients() -> dict[str, Any]:
    from django.db import connection
    from oauth2_provider.models import get_application_model

    from bench.common import key_pair, public_jwks, register_client_keys

    applications = get_application_model()
    for client_id, hashed in (("bench-plain", False), ("bench-hashed", True), ("bench-signed", False)):
        application = applications.objects.create(
            client_id=client_id,
            name=client_id,
            client_type="confidential",
            client_secret=SECRET,
            hash_client_secret=hashed,
            authorization_grant_type="authorization-code",
            redirect_uris=REDIRECT_URI,
        )
        if client_id == "bench-signed":
            register_client_keys(
                application,
                "private_key_jwt",
                public_jwks(key_pair("EC"), key_pair("RSA")),
                require_signed_request_object=True,
            )
    return {"vendor": connection.vendor}


def authorization_request(client_id: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "read",
        "state": "bench",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }


def secret_push(client_id: str) -> tuple[str, dict[str, str]]:
    from bench.common import basic

    return urlencode(authorization_request(client_id)), {"HTTP_AUTHORIZATION": basic(client_id, SECRET)}


def signed_push(assertion_key: Any, object_key: Any) -> tuple[str, dict[str, str]]:
    from bench.common import ASSERTION_TYPE, client_assertion, request_object

    client_id = "bench-signed"
    body = {
        "client_id": client_id,
        "request": request_object(client_id, authorization_request(client_id), object_key, "PS256", ISSUER),
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(client_id, assertion_key, "ES256", PAR_ENDPOINT),
    }
    return urlencode(body), {}


def send_all(http: Any, requests: list[tuple[str, dict[str, str]]]) -> None:
    for body, headers in requests:
        response = http.post("/o/par/", body, content_type=FORM, **headers)
        if response.status_code != 201:
            raise SystemExit(f"push refused: {response.status_code} {response.content[:300]!r}")


def round_trips(http: Any, request: tuple[str, dict[str, str]]) -> tuple[int, Counter[str]]:
    """Database statements and cache operations of one push."""
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache = caches["default"]
    counted: Counter[str] = Counter()
    originals = {}
    for name in ("get", "add", "set", "incr", "delete", "get_many", "set_many"):
        original = getattr(cache, name)
        originals[name] = original

        def counting(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            counted[_name] += 1
            return _original(*args, **kwargs)

        setattr(cache, name, counting)
    try:
        with CaptureQueriesContext(connection) as captured:
            send_all(http, [request])
    finally:
        for name, original in originals.items():
            setattr(cache, name, original)
    statements = [query["sql"].lstrip().split(None, 1)[0].upper() for query in captured.captured_queries]
    return sum(1 for verb in statements if verb in {"SELECT", "INSERT", "UPDATE", "DELETE"}), counted


def format_ops(ops: Counter[str]) -> str:
    return ", ".join(f"{count} {name}" for name, count in sorted(ops.items())) or "none"


if __name__ == "__main__":
    main()
