"""Where a login's time goes, in-process: each step under cProfile, with its SQL.

    DJANGO_SETTINGS_MODULE=bench.settings BENCH_MEASURE=0 DATABASE_URL=... \\
        .venv/bin/python -m bench.profile_steps --iterations 300 [--out FILE]

Runs the PAR login (push, consent page, consent POST, code exchange) and the classic
login (consent page, consent POST, code exchange) with Django's test client, no HTTP
and no gunicorn, on a database prepared by ``python -m bench.prepare setup`` (plain
secrets, so no hashing hides the rest). For every step it prints the median time, the
SQL statements of one run, and the functions with the most cumulative and own time,
restricted to this project, DOT, oauthlib and Django's ORM/templates, so that the PAR
steps can be read against their classic counterparts line by line.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.prepare import CODE_PLAIN, SECRET, django_setup

STEPS = ("push", "par_page", "par_consent", "par_exchange", "page", "consent", "exchange")
TITLES = {
    "push": "PAR: push (POST /o/par/)",
    "par_page": "PAR: consent page (GET /o/authorize/?client_id&request_uri)",
    "par_consent": "PAR: consent POST",
    "par_exchange": "PAR: code exchange (POST /o/token/)",
    "page": "classic: consent page (GET /o/authorize/?response_type=code&...)",
    "consent": "classic: consent POST",
    "exchange": "classic: code exchange (POST /o/token/)",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_steps")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--top", type=int, default=18)
    parser.add_argument("--out", default="-", help="where the text goes (default standard output)")
    parser.add_argument("--json", default="", help="also write the medians and query counts here")
    args = parser.parse_args(argv)
    django_setup()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from oauth2_provider.models import get_application_model

    from bench.client import CONSENT_HIDDEN_FIELDS, AuthorizationRequest, basic, exchange_fields

    app = get_application_model().objects.get(client_id=CODE_PLAIN)
    redirect_uri = app.redirect_uris.split()[0]
    browser = Client()
    browser.force_login(get_user_model().objects.get(username="demo"))
    backend = Client()

    profiles = {step: cProfile.Profile() for step in STEPS}
    times: dict[str, list[float]] = {step: [] for step in STEPS}
    profiled: dict[str, list[float]] = {step: [] for step in STEPS}
    queries: dict[str, list[str]] = {}
    profiling = False

    def timed(step: str, call: Callable[[], Any]) -> Any:
        capture = CaptureQueriesContext(connection)
        first = step not in queries
        if first:
            capture.__enter__()
        start = time.perf_counter()
        if profiling:
            profiles[step].enable()
        try:
            return call()
        finally:
            if profiling:
                profiles[step].disable()
            (profiled if profiling else times)[step].append(time.perf_counter() - start)
            if first:
                capture.__exit__(None, None, None)
                queries[step] = [query["sql"] for query in capture.captured_queries]

    def fresh() -> tuple[str, dict[str, str]]:
        auth = AuthorizationRequest.new(CODE_PLAIN, redirect_uri)
        return auth.verifier, auth.params

    def code_of(response: Any) -> str:
        assert response.status_code == 302, (response.status_code, response.content[:300])
        return parse_qs(urlsplit(response["Location"]).query)["code"][0]

    def exchange(step: str, verifier: str, code: str) -> None:
        body = urlencode(exchange_fields(code, redirect_uri, verifier))
        response = timed(
            step,
            lambda: backend.post(
                "/o/token/",
                body,
                content_type="application/x-www-form-urlencoded",
                HTTP_AUTHORIZATION=basic(CODE_PLAIN, SECRET),
            ),
        )
        assert response.status_code == 200, response.content[:300]

    hidden = CONSENT_HIDDEN_FIELDS

    def iterate() -> None:
        # PAR
        verifier, params = fresh()
        response = timed(
            "push",
            lambda params=params: backend.post(
                "/o/par/",
                urlencode(params),
                content_type="application/x-www-form-urlencoded",
                HTTP_AUTHORIZATION=basic(CODE_PLAIN, SECRET),
            ),
        )
        assert response.status_code == 201, response.content[:300]
        path = "/o/authorize/?" + urlencode(
            {"client_id": CODE_PLAIN, "request_uri": response.json()["request_uri"]}
        )
        response = timed("par_page", lambda path=path: browser.get(path))
        assert response.status_code == 200, response.content[:300]
        form = {name: "" for name in hidden} | {"allow": "Authorize"}
        code = code_of(timed("par_consent", lambda path=path, form=form: browser.post(path, form)))
        exchange("par_exchange", verifier, code)
        # classic
        verifier, params = fresh()
        path = "/o/authorize/?" + urlencode(params)
        response = timed("page", lambda path=path: browser.get(path))
        assert response.status_code == 200, response.content[:300]
        form = {name: params.get(name, "") for name in hidden} | {"allow": "Authorize"}
        code = code_of(timed("consent", lambda path=path, form=form: browser.post(path, form)))
        exchange("exchange", verifier, code)

    for _ in range(args.iterations):  # plain timing first: cProfile roughly doubles the time
        iterate()
    profiling = True
    for _ in range(args.iterations):
        iterate()

    output = io.StringIO()
    write = output.write
    write(f"In-process profile, {args.iterations} iterations, database {connection.vendor}\n\n")
    write(f"{'step':<66}median ms  queries\n")
    for step in STEPS:
        median = statistics.median(times[step]) * 1e3
        write(f"{TITLES[step]:<66}{median:9.2f}  {len(queries[step]):7d}\n")
    write(
        "\nThe medians above are without the profiler. The profiles below come from a second pass\n"
        "under cProfile, which slows Python code about twice, so read their times as shares.\n"
    )
    for step in ("push", "par_page", "par_consent"):
        stream = io.StringIO()
        stats = pstats.Stats(profiles[step], stream=stream)
        stats.sort_stats("cumulative").print_stats(r"django_oauth_par", args.top)
        text = stream.getvalue()
        text = text[text.find("   ncalls") :] if "   ncalls" in text else text
        write(f"\n{TITLES[step]}: django_oauth_par's functions by cumulative time\n{text}")
    for step in STEPS:
        write(f"\n{'=' * 100}\n{TITLES[step]}: median {statistics.median(times[step]) * 1e3:.2f} ms\n")
        write("SQL:\n")
        for sql in queries[step]:
            write(f"  - {sql[:230]}\n")
        for order in ("cumulative", "tottime"):
            stream = io.StringIO()
            stats = pstats.Stats(profiles[step], stream=stream)
            stats.sort_stats(order).print_stats(
                r"django_oauth_par|oauth2_provider|oauthlib|django/(db|template|contrib/sessions|middleware)",
                args.top,
            )
            text = stream.getvalue()
            text = text[text.find("   ncalls") :] if "   ncalls" in text else text
            write(f"\nby {order} time (seconds over all iterations):\n{text}")
    if args.out == "-":
        sys.stdout.write(output.getvalue())
    else:
        with open(args.out, "w") as handle:
            handle.write(output.getvalue())
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {
                    step: {"median_ms": statistics.median(times[step]) * 1e3, "queries": queries[step]}
                    for step in STEPS
                },
                handle,
                indent=1,
            )


if __name__ == "__main__":
    main()
