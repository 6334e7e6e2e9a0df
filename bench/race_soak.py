#!/usr/bin/env python
"""Race and soak the example project under gunicorn (issue 4, item 4).

    .venv/bin/python bench/race_soak.py                      # PostgreSQL, 4 sync workers, defaults
    .venv/bin/python bench/race_soak.py --database sqlite --workers 2 --rounds 2 --flows 300

What it does, on loopback only, bounded in count and time:

1. Creates (or re-creates) its own database -- PostgreSQL ``oauth_par_soak`` by default, or an
   SQLite file -- migrates it, runs ``setup_demo --base-url`` for the server's address (user
   ``demo``, confidential client ``demo-rp``) and adds a ``skip_authorization`` client through
   ``manage.py shell -c``.
2. Starts the example project under gunicorn with several worker processes.
3. Race: for each of ``--rounds`` rounds it pushes one request, logs a browser session in through
   the login form, opens the consent page once and fires ``--race-concurrency`` simultaneous
   consent POSTs; then does the same with simultaneous GETs for the skip_authorization client.
   Exactly one response per round may carry a code (and that code must work at /o/token/); the
   others must be refused; nothing may answer 5xx.
4. Soak: ``--flows`` complete flows (push, authorize, consent, code exchange with PKCE) from a
   thread pool, counting every status. Nothing may answer 5xx and every flow must complete.
5. Runs ``manage.py clearpushedrequests`` and checks the pushed-request table is back at the
   size it had before the run.

It prints a summary and exits 0 when every property holds, 1 when one fails, 2 when the run could
not be set up, 130 when interrupted. Its gunicorn processes are stopped on every exit path.

PBKDF2 makes every client authentication cost about 0.25 CPU-seconds, which would make the soak
measure nothing but the hasher. By default the server therefore runs the example project with the
app's verified-secret cache switched on (``OAUTH2_PAR["VERIFIED_SECRET_CACHE_SECONDS"]`` and
``VerifiedSecretCacheMixin`` for DOT's token endpoint, as the README documents); with
``--secret-cache-seconds 0`` it runs ``example_project.settings`` unchanged, except that server
errors are logged with their tracebacks in the gunicorn log (as they are in every run).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlencode, urlparse, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on sys.path, the checkout is not
    sys.path.insert(0, str(ROOT))

from bench import client  # noqa: E402
from bench.client import Browser, FlowError, Reply  # noqa: E402
from bench.common import (  # noqa: E402
    basic,
    drop_postgres_database,
    free_port,
    pkce,
    recreate_postgres_database,
    start_gunicorn,
    stop_process_group,
)
from bench.common import csrf_token as _csrf_token  # noqa: E402

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/oauth_par_soak"
HTTP_TIMEOUT = 60.0
SKIP_CLIENT_ID = "race-soak-skip"
#: Run through ``manage.py shell -c``: a skip_authorization client next to the demo's.
SKIP_CLIENT_CODE = """
import os
from oauth2_provider.models import get_application_model
Application = get_application_model()
app = Application.objects.filter(client_id=os.environ["SOAK_CLIENT_ID"]).first()
app = app or Application(client_id=os.environ["SOAK_CLIENT_ID"])
app.name = "race_soak skip_authorization client"
app.client_type = Application.CLIENT_CONFIDENTIAL
app.client_secret = os.environ["SOAK_CLIENT_SECRET"]
app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
app.redirect_uris = os.environ["SOAK_REDIRECT_URI"]
app.algorithm = Application.RS256_ALGORITHM
app.skip_authorization = True
app.save()
print("created", app.client_id)
"""
COUNT_CODE = "from django_oauth_par.models import PushedRequest; print(PushedRequest.objects.count())"
#: The server's settings: the project's, plus server errors with tracebacks in the gunicorn log
#: (Django logs them to the console only with DEBUG on). Written to a temporary directory.
OVERLAY_SETTINGS = """
from {base} import *  # noqa: F403
from {base} import LOGGING as _LOGGING

LOGGING = {{
    **_LOGGING,
    "handlers": {{**_LOGGING.get("handlers", {{}}), "race_soak": {{"class": "logging.StreamHandler"}}}},
    "loggers": {{
        **_LOGGING.get("loggers", {{}}),
        "django.request": {{"handlers": ["race_soak"], "level": "ERROR", "propagate": False}},
    }},
}}
"""
#: Added with --sqlite-transaction-mode immediate (Django >= 5.1): writers queue for the lock at BEGIN.
OVERLAY_SQLITE_IMMEDIATE = """
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"  # noqa: F405
"""
#: Added when the verified-secret cache is on: for the PAR endpoint and DOT's token endpoint.
OVERLAY_SECRET_CACHE = """
from {base} import OAUTH2_PAR as _PAR, OAUTH2_PROVIDER as _PROVIDER

OAUTH2_PAR = {{**_PAR, "VERIFIED_SECRET_CACHE_SECONDS": {seconds}}}
OAUTH2_PROVIDER = {{**_PROVIDER, "OAUTH2_VALIDATOR_CLASS": "bench.validators.CachedSecretExampleValidator"}}
"""


class SoakError(Exception):
    """The run could not be set up or could not go on."""


def csrf_token(html: str) -> str:
    try:
        return _csrf_token(html)
    except ValueError as error:
        raise SoakError(str(error)) from None


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``manage.py`` with ``args``; return its stdout, raise SoakError on failure."""
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SoakError(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


class Server:
    """gunicorn serving the example project, in a process group of its own."""

    def __init__(self, env: dict[str, str], port: int, workers: int, threads: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.workers = workers
        self.threads = threads
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{port}"

    def start(self, ready_within: float = 60.0) -> None:
        # Log level info: the properties count the "Booting worker" lines.
        process = start_gunicorn(
            sys.executable,
            ROOT,
            self.env,
            self.port,
            self.log_path,
            workers=self.workers,
            threads=self.threads,
            timeout=60,
            graceful_timeout=10,
            log_level="info",
        )
        self.process = process
        failure = client.wait_until_serving(
            self.port, "/accounts/login/", lambda: process.poll() is None, ready_within
        )
        if failure:
            raise SoakError(f"gunicorn: {failure} ({process.poll()}):\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop gunicorn and its workers (SIGTERM, then SIGKILL after 15 s). Safe to call twice."""
        process, self.process = self.process, None
        if process is not None:
            stop_process_group(process)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# One relying party and one browser, over HTTP
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where to run the flows, and with which client and user."""

    base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    username: str
    password: str
    skip_client_id: str | None = None
    scope: str = "read"

    @property
    def port(self) -> int:
        """The server's port: the bench client speaks to 127.0.0.1 only."""
        parts = urlsplit(self.base_url)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            raise SoakError(f"{self.base_url!r}: the server must be at http://127.0.0.1:PORT")
        return parts.port


def push(target: Target, client_id: str, state: str, challenge: str) -> Reply:
    fields = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": target.redirect_uri,
        "scope": target.scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    authorization = basic(client_id, target.client_secret)
    return client.post_form(target.port, "/o/par/", fields, authorization, HTTP_TIMEOUT)


def authorize_path(client_id: str, request_uri: str) -> str:
    return "/o/authorize/?" + urlencode({"client_id": client_id, "request_uri": request_uri})


def exchange(target: Target, client_id: str, code: str, verifier: str) -> Reply:
    fields = client.exchange_fields(code, target.redirect_uri, verifier)
    authorization = basic(client_id, target.client_secret)
    return client.post_form(target.port, "/o/token/", fields, authorization, HTTP_TIMEOUT)


def log_in(target: Target) -> Browser:
    """A browser session logged in through the login form (GET, then POST with the CSRF token)."""
    browser = Browser(target.port, HTTP_TIMEOUT)
    try:
        browser.log_in(target.username, target.password)
    except FlowError as error:
        raise SoakError(str(error)) from None
    return browser


# ---------------------------------------------------------------------------------------------
# The race
# ---------------------------------------------------------------------------------------------


@dataclass
class RaceResult:
    kind: str
    statuses: Counter[str] = field(default_factory=Counter)
    codes: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    #: What /o/token/ answered for the one code (None: not tried).
    redeemed: int | None = None

    @property
    def ok(self) -> bool:
        return self.codes == 1 and self.server_errors == 0 and not self.failures and self.redeemed == 200


def classify(reply: Reply, state: str) -> str:
    status = reply.status
    if status in (301, 302, 303, 307, 308):
        query = reply.redirect_query()
        if "code" in query:
            return f"{status} code" if query.get("state") == state else f"{status} code, wrong state"
        if "error" in query:
            return f"{status} error={query['error']}"
        return f"{status} to {urlparse(reply.location).path}"
    return str(status)


def race(target: Target, browser: Browser, kind: str, concurrency: int) -> RaceResult:
    """One pushed request, ``concurrency`` simultaneous uses of it by the same logged-in browser.

    ``kind`` "consent": the consent page is opened once, then the consent form is POSTed
    ``concurrency`` times at once. ``kind`` "skip": a skip_authorization client, whose GET issues
    the code directly, is GET ``concurrency`` times at once.
    """
    result = RaceResult(kind)
    client_id = target.client_id if kind == "consent" else target.skip_client_id
    if client_id is None:
        raise SoakError("no skip_authorization client configured")
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(12)
    pushed = push(target, client_id, state, challenge)
    if pushed.status != 201:
        raise SoakError(f"race push answered {pushed.status}: {pushed.text[:200]}")
    path = authorize_path(client_id, pushed.json()["request_uri"])

    send: Callable[[Browser], Reply]
    if kind == "consent":
        page = browser.call("GET", path)
        if page.status != 200:
            raise SoakError(f"consent page answered {page.status}")
        fields = {"csrfmiddlewaretoken": csrf_token(page.text), "allow": "Authorize"}

        def send(session: Browser) -> Reply:
            return session.call("POST", path, fields)

    else:

        def send(session: Browser) -> Reply:
            return session.call("GET", path)

    sessions = [browser.copy() for _ in range(concurrency)]
    barrier = threading.Barrier(concurrency)

    def fire(session: Browser) -> Reply | Exception:
        try:
            barrier.wait(timeout=HTTP_TIMEOUT)
            return send(session)
        except (OSError, threading.BrokenBarrierError) as error:
            return error

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="race") as pool:
        answers = list(pool.map(fire, sessions))

    winners = []
    for answer in answers:
        if isinstance(answer, Exception):
            result.statuses[f"error {type(answer).__name__}"] += 1
            result.failures.append(f"request failed: {type(answer).__name__}: {answer}")
            continue
        label = classify(answer, state)
        result.statuses[label] += 1
        if answer.status >= 500:
            result.server_errors += 1
        if label.endswith(" code"):
            winners.append(answer)
        elif answer.status != 400:
            result.failures.append(f"unexpected answer {label}")
    result.codes = len(winners)
    if len(winners) == 1:
        redeemed = exchange(target, client_id, winners[0].redirect_query()["code"], verifier)
        result.redeemed = redeemed.status
    return result


# ---------------------------------------------------------------------------------------------
# The soak
# ---------------------------------------------------------------------------------------------


@dataclass
class SoakResult:
    flows: int
    statuses: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    completed: int = 0
    server_errors: int = 0
    skipped: int = 0
    elapsed: float = 0.0

    @property
    def per_second(self) -> float:
        return self.completed / self.elapsed if self.elapsed else 0.0


def soak(target: Target, browser: Browser, flows: int, concurrency: int, deadline: float) -> SoakResult:
    """``flows`` complete push-and-redeem flows from ``concurrency`` threads, all as ``browser``'s user."""
    local = threading.local()

    def session() -> Browser:
        if not hasattr(local, "browser"):
            local.browser = browser.copy()
        user: Browser = local.browser
        return user

    def one_flow(_index: int) -> tuple[list[str], str | None]:
        """The steps' labels ("push 201", ...) and why the flow failed (None: it completed)."""
        if time.monotonic() > deadline:
            return [], "skipped: time budget exhausted"
        steps: list[str] = []
        user = session()
        verifier, challenge = pkce()
        state = secrets.token_urlsafe(12)
        step = "push"
        try:
            answer = push(target, target.client_id, state, challenge)
            steps.append(f"push {answer.status}")
            if answer.status != 201:
                return steps, f"push answered {answer.status}"
            path = authorize_path(target.client_id, answer.json()["request_uri"])
            step = "authorize"
            answer = user.call("GET", path)
            steps.append(f"authorize {answer.status}")
            if answer.status != 200:
                return steps, f"authorize answered {answer.status}"
            step = "consent"
            answer = user.call(
                "POST", path, {"csrfmiddlewaretoken": csrf_token(answer.text), "allow": "Authorize"}
            )
            label = classify(answer, state)
            steps.append(f"consent {label}")
            if not label.endswith(" code"):
                return steps, f"consent answered {label}"
            step = "token"
            answer = exchange(target, target.client_id, answer.redirect_query()["code"], verifier)
            steps.append(f"token {answer.status}")
            if answer.status != 200 or "access_token" not in answer.json():
                return steps, f"token answered {answer.status}"
        except (OSError, ValueError, KeyError, SoakError) as error:
            steps.append(f"{step} {type(error).__name__}")
            return steps, f"{step} failed: {type(error).__name__}"
        return steps, None

    result = SoakResult(flows)
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="soak")
    try:
        for steps, failure in pool.map(one_flow, range(flows)):
            result.statuses.update(steps)
            result.server_errors += sum(1 for label in steps if label.split()[1].startswith("5"))
            if failure is None:
                result.completed += 1
            elif failure.startswith("skipped"):
                result.skipped += 1
            else:
                result.failures[failure] += 1
    finally:
        # On Ctrl-C, drop the flows not started yet instead of waiting for them.
        pool.shutdown(wait=False, cancel_futures=True)
    result.elapsed = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------------------------
# The database
# ---------------------------------------------------------------------------------------------


def count_pushed_requests(env: dict[str, str]) -> int:
    return int(manage(env, "shell", "-c", COUNT_CODE).strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as it is, and every option's default."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument(
        "--database-url", default=DEFAULT_POSTGRES_URL, help="PostgreSQL database to (re)create and use"
    )
    parser.add_argument(
        "--sqlite-path", default=None, help="SQLite file to (re)create; None: one in a temporary directory"
    )
    parser.add_argument(
        "--sqlite-transaction-mode",
        choices=("deferred", "immediate"),
        default="deferred",
        help="SQLite only: deferred is the example project's setting; immediate takes the write lock at "
        "BEGIN (Django >= 5.1), so concurrent writers wait instead of failing with 'database is locked'",
    )
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="do not drop the PostgreSQL database at the end (SQLite: only a --sqlite-path file is kept)",
    )
    parser.add_argument("--log-file", default=None, help="keep gunicorn's log here (None: discarded)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (above 1: gthread)")
    parser.add_argument("--rounds", type=int, default=5, help="race rounds")
    parser.add_argument("--race-concurrency", type=int, default=50, help="simultaneous requests per race")
    parser.add_argument(
        "--race", choices=("both", "consent", "skip"), default="both", help="which races each round runs"
    )
    parser.add_argument("--flows", type=int, default=2000, help="soak flows")
    parser.add_argument("--concurrency", type=int, default=8, help="soak client threads")
    parser.add_argument(
        "--secret-cache-seconds",
        type=int,
        default=300,
        help="the app's verified-secret cache for client authentication (0: off, as in the example)",
    )
    parser.add_argument("--max-seconds", type=float, default=1200, help="time budget of the whole run")
    args = parser.parse_args(argv)
    for name in ("workers", "threads", "rounds", "race_concurrency", "concurrency"):
        if getattr(args, name) < 1 and not (name == "rounds" and getattr(args, name) == 0):
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.flows < 0 or args.secret_cache_seconds < 0:
        parser.error("--flows and --secret-cache-seconds must not be negative")
    if args.race_concurrency > 200 or args.concurrency > 64 or args.workers > 16 or args.flows > 100_000:
        parser.error("keep the load bounded: at most 200 racers, 64 soak threads, 16 workers, 100000 flows")
    return args


def write_settings(
    directory: Path, base: str, secret_cache_seconds: int = 0, sqlite_immediate: bool = False
) -> str:
    """Write the server's settings module (``base`` plus the overlay) into ``directory``; return its name.

    ``directory`` must be on the server's PYTHONPATH.
    """
    text = OVERLAY_SETTINGS.format(base=base)
    if sqlite_immediate:
        text += OVERLAY_SQLITE_IMMEDIATE
    if secret_cache_seconds > 0:
        text += OVERLAY_SECRET_CACHE.format(base=base, seconds=secret_cache_seconds)
    (directory / "race_soak_settings.py").write_text(text)
    return "race_soak_settings"


def server_env(args: argparse.Namespace, workdir: Path, database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PAR_"))}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="0",
        PYTHONPATH=os.pathsep.join([str(workdir), str(ROOT)]),
        PYTHONUNBUFFERED="1",
    )
    env["DJANGO_SETTINGS_MODULE"] = write_settings(
        workdir,
        "example_project.settings",
        args.secret_cache_seconds,
        sqlite_immediate=args.sqlite_transaction_mode == "immediate",
    )
    return env


STEPS = ("push", "authorize", "consent", "token")


def step_order(item: tuple[str, int]) -> tuple[int, str]:
    step = item[0].split()[0]
    return (STEPS.index(step) if step in STEPS else len(STEPS), item[0])


def print_race(index: int, result: RaceResult) -> None:
    histogram = ", ".join(f"{label} x{count}" for label, count in sorted(result.statuses.items()))
    redeemed = "not tried" if result.redeemed is None else str(result.redeemed)
    verdict = "ok" if result.ok else "FAIL"
    print(
        f"  round {index} {result.kind:<7} codes={result.codes} 5xx={result.server_errors} "
        f"code at /o/token/: {redeemed}  [{histogram}]  {verdict}",
        flush=True,
    )
    for failure in sorted(set(result.failures))[:5]:
        print(f"      {failure}", flush=True)


def run(args: argparse.Namespace, workdir: Path) -> int:
    started = time.monotonic()
    deadline = started + args.max_seconds
    if args.database == "postgres":
        database_url = args.database_url
        label = f"PostgreSQL {urlparse(database_url).path.lstrip('/')}"
        try:
            recreate_postgres_database(database_url)
        except ValueError as error:
            raise SoakError(str(error)) from None
    else:
        path = Path(args.sqlite_path).resolve() if args.sqlite_path else workdir / "race_soak.sqlite3"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{path}"
        label = f"SQLite {path}"
    env = server_env(args, workdir, database_url)
    port = free_port()
    log_path = Path(args.log_file).resolve() if args.log_file else workdir / "gunicorn.log"
    server = Server(env, port, args.workers, args.threads, log_path)
    base_url = server.base_url
    redirect_uri = f"{base_url}/demo/callback/"
    kind = "sync" if args.threads == 1 else "gthread"
    print(
        f"== race_soak: {label}; gunicorn {args.workers} workers x {args.threads} thread(s) ({kind}) "
        f"at {base_url}; settings {env['DJANGO_SETTINGS_MODULE']}",
        flush=True,
    )

    manage(env, "migrate", "--no-input")
    manage(env, "setup_demo", "--base-url", base_url)
    manage(
        {
            **env,
            "SOAK_CLIENT_ID": SKIP_CLIENT_ID,
            "SOAK_CLIENT_SECRET": "demo-rp-secret",
            "SOAK_REDIRECT_URI": redirect_uri,
        },
        "shell",
        "-c",
        SKIP_CLIENT_CODE,
    )
    before = count_pushed_requests(env)
    target = Target(
        base_url=base_url,
        client_id="demo-rp",
        client_secret="demo-rp-secret",
        redirect_uri=redirect_uri,
        username="demo",
        password="demo-password",
        skip_client_id=SKIP_CLIENT_ID,
    )

    races: list[RaceResult] = []
    with running(server):
        kinds = ("consent", "skip") if args.race == "both" else (args.race,)
        print(
            f"== race: {args.rounds} rounds of {args.race_concurrency} simultaneous requests "
            f"({' and '.join(kinds)})",
            flush=True,
        )
        for index in range(1, args.rounds + 1):
            browser = log_in(target)
            for race_kind in kinds:
                result = race(target, browser, race_kind, args.race_concurrency)
                races.append(result)
                print_race(index, result)

        print(f"== soak: {args.flows} flows from {args.concurrency} threads", flush=True)
        soaked = soak(target, log_in(target), args.flows, args.concurrency, deadline)
        for label, count in sorted(soaked.statuses.items(), key=step_order):
            print(f"  {label:<28} {count:>7}", flush=True)
        for failure, count in soaked.failures.most_common(10):
            print(f"  FAILED FLOWS: {failure} x{count}", flush=True)
        print(
            f"  completed {soaked.completed}/{soaked.flows} flows in {soaked.elapsed:.1f} s "
            f"= {soaked.per_second:.1f} flows/s",
            flush=True,
        )
        after_soak = count_pushed_requests(env)
        cleared = manage(env, "clearpushedrequests").strip()
        after_clear = count_pushed_requests(env)
    log = server.log_text()
    boots = log.count("Booting worker")
    timeouts = log.count("WORKER TIMEOUT")
    tracebacks = log.count("Traceback")

    print("== pushed-request table", flush=True)
    print(f"  before the run             {before:>7}", flush=True)
    print(f"  after the soak             {after_soak:>7}", flush=True)
    print(f"  after clearpushedrequests  {after_clear:>7}   ({cleared})", flush=True)
    print(
        f"== server log: {boots} worker boots, {timeouts} worker timeouts, {tracebacks} tracebacks",
        flush=True,
    )

    codes = {kind: [r.codes for r in races if r.kind == kind] for kind in ("consent", "skip")}
    race_5xx = sum(r.server_errors for r in races)
    checks = [
        (
            "exactly one code per race round, and it redeems at /o/token/",
            all(r.ok for r in races),
            "codes per round: " + "; ".join(f"{k} {v}" for k, v in codes.items() if v),
        ),
        ("no 5xx in the race", race_5xx == 0, f"{race_5xx} answers >= 500"),
        ("no 5xx in the soak", soaked.server_errors == 0, f"{soaked.server_errors} answers >= 500"),
        (
            "every soak flow completed",
            soaked.completed == soaked.flows,
            f"{soaked.completed}/{soaked.flows}, {soaked.skipped} skipped for time",
        ),
        (
            "pushed-request table back at its starting size",
            after_clear == before,
            f"{before} -> {after_soak} -> {after_clear}",
        ),
        ("no worker timed out or restarted", timeouts == 0 and boots == args.workers, f"{boots} boots"),
        (
            "within the time budget",
            time.monotonic() <= deadline,
            f"{time.monotonic() - started:.0f} s of {args.max_seconds:.0f}",
        ),
    ]
    print("== properties", flush=True)
    for name, passed, detail in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {name}  ({detail})", flush=True)
    failed = [name for name, passed, _ in checks if not passed]
    if failed or tracebacks:
        print("== last lines of the server log", flush=True)
        print(server.log_tail(30), flush=True)
    print(f"== RESULT: {'FAIL' if failed else 'PASS'} in {time.monotonic() - started:.0f} s", flush=True)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    with tempfile.TemporaryDirectory(prefix="race_soak-") as tmp:
        try:
            return run(args, Path(tmp))
        except KeyboardInterrupt:
            print("== interrupted: server stopped", file=sys.stderr, flush=True)
            return 130
        except (SoakError, OSError, subprocess.SubprocessError) as error:
            print(f"== ERROR: {error}", file=sys.stderr, flush=True)
            return 2
        finally:
            if args.database == "postgres" and not args.keep_database:
                try:
                    drop_postgres_database(args.database_url)
                except Exception as error:  # noqa: BLE001 - reported, never masks the result
                    print(f"== could not drop the soak database: {error}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
