"""The benchmark of django-oauth-par against django-oauth-toolkit's own endpoints.

One command::

    .venv/bin/python bench/run.py                  # the full run (about 10 minutes)
    .venv/bin/python bench/run.py --quick          # a short run (under 3 minutes)
    .venv/bin/python bench/run.py --databases sqlite,postgres --workers 1,2,4 --out docs/benchmarks.md
    .venv/bin/python bench/run.py --only signed-push   # signed pushes alone (about 2 minutes)
    .venv/bin/python bench/run.py --only audit-off     # the pairs without the audit trail (about 3 minutes)

It serves the example project under gunicorn (sync workers) on 127.0.0.1, on SQLite (a
file) and on PostgreSQL (a database of its own, created, migrated and dropped by this
script), with each number of workers, and times each PAR operation side by side with
the DOT operation it should be compared with, in alternated batches (A, B, B, A, ...):

- ``auth-*``: a push to ``/o/par/`` against DOT's token endpoint with
  ``grant_type=client_credentials``, both with ``client_secret_basic`` and the same
  secret stored the same way (hashed with DOT's default PBKDF2, or plain);
- ``authorize``: DOT's consent page (logged-in user, 200) for a ``request_uri`` against
  the same request sent classically in the query string;
- ``login-*``: a full PAR login (push, consent page, consent POST, code exchange) against
  a full classic login (consent page, consent POST, code exchange);
- ``signed-*`` (unless ``--no-signed``): a push authenticated with ``private_key_jwt`` (an
  ES256 assertion) carrying a request object signed with PS256, against a
  ``client_secret_basic`` push (secret stored plain, or hashed with the cache warm), on a
  server with the verified-secret cache on; the load client signs each batch before its
  clock starts. ``--only signed-push`` measures this part alone and replaces its section
  of an existing report.
- the same PAR-against-DOT pairs on servers with ``OAUTH2_PAR["AUDIT_TRAIL"]`` off (unless
  ``--no-audit-off``; everything else as above), so that what PAR itself costs shows apart
  from the rows the audit trail writes: plain secrets and the consent page with the
  verified-secret cache off, hashed secrets with it on (cold, PBKDF2 hides the rest).
  ``--only audit-off`` measures this part alone and replaces its section of an existing report.

Hashed-secret scenarios run twice: verified-secret cache off, and on (the PAR endpoint
through ``OAUTH2_PAR["VERIFIED_SECRET_CACHE_SECONDS"]``, DOT's token endpoint through a
validator class with ``VerifiedSecretCacheMixin``; Redis at 127.0.0.1:6379 so that every
worker shares it). With concurrency equal to the number of workers, each batch gives a
throughput, each request a latency; ``bench.middleware.MeasureMiddleware`` reports each
request's server time and SQL query count in response headers, and with Redis its Redis
round trips (``bench/roundtrips.py``), those of the ``jti`` store apart.

Then, in-process: the verified-secret check cold (a full hash) against warm (a cache hit),
the cleanup command ``clearpushedrequests`` on a million expired rows and (full run, or
``--profile``) a cProfile of both logins on each database (``bench/profile_steps.py``). It writes the
report (``--out``), a chart beside it (same name, ``.png``) and the raw figures (``.json``).
Needs PostgreSQL on 127.0.0.1:5432 (trust, user postgres) for ``postgres`` (a database named by
``--postgres-database``, dropped and created again) and Redis on 127.0.0.1:6379 for the cache-on
runs with several workers (skipped, and said so, without).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import client  # noqa: E402
from bench.client import Browser, Sample, SignedPushes  # noqa: E402
from bench.common import (  # noqa: E402
    drop_postgres_database,
    free_port,
    key_pair,
    public_jwks,
    recreate_postgres_database,
    start_gunicorn,
    stop_process_group,
)
from bench.prepare import (  # noqa: E402
    CODE_HASHED,
    CODE_PLAIN,
    CREDENTIALS_HASHED,
    CREDENTIALS_PLAIN,
    SIGNED,
)

PYTHON = sys.executable
POSTGRES_DATABASE = "oauth_par_bench"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
SECRET_CACHE_SECONDS = 600
REQUEST_URI_LIFETIME = 900


# Configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much is measured: rounds of alternated batches, and tasks per batch per worker."""

    rounds: int
    cold_rounds: int
    single: int  # tasks per batch and per worker, one request each
    flow: int  # tasks per batch and per worker, whole logins
    cold_single: int
    cold_flow: int
    warmup: int
    warm_cold_runs: tuple[int, int]
    cleanup_rows: int
    profile_iterations: int


FULL = Sizes(
    rounds=14,
    cold_rounds=12,
    single=20,
    flow=8,
    cold_single=3,
    cold_flow=1,
    warmup=4,
    warm_cold_runs=(6, 5000),
    cleanup_rows=1_000_000,
    profile_iterations=150,
)
QUICK = Sizes(
    rounds=3,
    cold_rounds=1,
    single=8,
    flow=3,
    cold_single=1,
    cold_flow=1,
    warmup=2,
    warm_cold_runs=(2, 500),
    cleanup_rows=100_000,
    profile_iterations=20,
)


@dataclass
class Side:
    label: str
    run: Callable[[Browser, Any], Sample]
    prepare: Callable[[int], list[Any]] | None = None


@dataclass
class Pair:
    key: str
    title: str
    par: Side
    dot: Side
    flow: bool
    hashed: bool
    target: str  # "throughput", "authorize" or "login"


@dataclass
class SideResult:
    label: str
    latencies: list[float] = field(default_factory=list)  # seconds, every task
    server_us: list[int] = field(default_factory=list)
    cpu_us: list[int] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    cache_trips: list[int] = field(default_factory=list)  # -1: not counted (no Redis)
    jti_trips: list[int] = field(default_factory=list)
    step_names: list[str] = field(default_factory=list)
    step_server_us: list[list[int]] = field(default_factory=list)
    step_cpu_us: list[list[int]] = field(default_factory=list)
    step_queries: list[list[int]] = field(default_factory=list)
    throughputs: list[float] = field(default_factory=list)  # tasks per second, every batch
    round_medians: list[float] = field(default_factory=list)

    def add_batch(self, samples: list[Sample], wall: float) -> None:
        self.throughputs.append(len(samples) / wall)
        self.round_medians.append(statistics.median(sample.seconds for sample in samples))
        for sample in samples:
            self.latencies.append(sample.seconds)
            self.server_us.append(sample.server_us)
            self.cpu_us.append(sample.cpu_us)
            self.queries.append(sample.queries)
            self.cache_trips.append(sample.cache_trips)
            self.jti_trips.append(sample.jti_trips)
            if not self.step_names:
                self.step_names = [step.name for step in sample.steps]
                self.step_server_us = [[] for _ in sample.steps]
                self.step_cpu_us = [[] for _ in sample.steps]
                self.step_queries = [[] for _ in sample.steps]
            for index, step in enumerate(sample.steps):
                self.step_server_us[index].append(step.server_us)
                self.step_cpu_us[index].append(step.cpu_us)
                self.step_queries[index].append(step.queries)

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "n": len(self.latencies),
            "median_ms": statistics.median(self.latencies) * 1e3,
            "p99_ms": percentile(self.latencies, 99) * 1e3,
            "server_median_ms": statistics.median(self.server_us) / 1e3,
            "cpu_median_ms": statistics.median(self.cpu_us) / 1e3,
            "throughput": statistics.median(self.throughputs),
            "queries": statistics.median(self.queries),
            "queries_max": max(self.queries),
            **counted_summary("cache_trips", self.cache_trips),
            **counted_summary("jti_trips", self.jti_trips),
            "steps": [
                {
                    "name": name,
                    "server_median_ms": statistics.median(self.step_server_us[index]) / 1e3,
                    "cpu_median_ms": statistics.median(self.step_cpu_us[index]) / 1e3,
                    "queries": statistics.median(self.step_queries[index]),
                }
                for index, name in enumerate(self.step_names)
            ],
        }


def counted_summary(name: str, values: list[int]) -> dict[str, Any]:
    """Median, minimum and maximum of a count; None where some request did not report it."""
    if not values or min(values) < 0:
        return {name: None, f"{name}_min": None, f"{name}_max": None}
    return {name: statistics.median(values), f"{name}_min": min(values), f"{name}_max": max(values)}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, linear between order statistics (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# Processes we start, and how they stop -----------------------------------------------------------

STARTED: list[subprocess.Popen[bytes]] = []


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a gunicorn we started, its workers with it."""
    stop_process_group(process)
    if process in STARTED:
        STARTED.remove(process)


def stop_all() -> None:
    for process in list(STARTED):
        stop(process)


def on_signal(signum: int, _frame: Any) -> None:
    stop_all()
    sys.exit(128 + signum)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def redis_ok() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Database:
    name: str  # "sqlite" or "postgres"
    url: str
    version: str = ""


def django_env(database: Database, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database.url,
        "PAR_REQUEST_URI_LIFETIME": str(REQUEST_URI_LIFETIME),
        "PYTHONPATH": str(ROOT),
        "BENCH_CACHE_PREFIX": f"oauth-par-bench-{os.getpid()}",
    }
    env.setdefault("CONN_MAX_AGE", "600")
    env.update(extra or {})
    return env


def run_prepare(database: Database, *args: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [PYTHON, "-m", "bench.prepare", *args],
        cwd=ROOT,
        env=django_env(database, extra),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench.prepare {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@contextlib.contextmanager
def serve(
    database: Database, port: int, workers: int, cache: str, logs: Path, audit_trail: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn with ``workers`` sync workers on 127.0.0.1:port; ``cache`` is off, redis or locmem."""
    extra = {"BENCH_SECRET_CACHE_SECONDS": "0" if cache == "off" else str(SECRET_CACHE_SECONDS)}
    if cache != "off":
        extra["BENCH_CACHE"] = cache
    if not audit_trail:
        extra["BENCH_AUDIT_TRAIL"] = "0"
    log = logs / f"gunicorn-{database.name}-{workers}w-{cache}{'' if audit_trail else '-audit-off'}.log"
    process = start_gunicorn(
        PYTHON,
        ROOT,
        django_env(database, extra),
        port,
        log,
        workers=workers,
        timeout=120,
        graceful_timeout=5,
        log_level="warning",
        append_log=True,
    )
    STARTED.append(process)
    try:
        failure = client.wait_until_serving(port, "/accounts/login/", lambda: process.poll() is None, 60)
        if failure:
            raise RuntimeError(f"gunicorn: {failure} ({process.poll()}); see {log}")
        time.sleep(0.5 * workers)  # let every worker finish booting
        yield process
    finally:
        stop(process)


# Load and CPU bookkeeping -----------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_busy_seconds() -> float:
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


SERVICES = ("postgres", "redis-server")


def service_cpu_by_pid() -> dict[int, float]:
    """CPU seconds used so far by each live PostgreSQL and Redis process."""
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.find("(") + 1 : text.rfind(")")] in SERVICES:
            fields = text[text.rfind(")") + 2 :].split()
            found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


class ServiceSampler(threading.Thread):
    """Samples the database and cache servers' CPU twice a second while a window lasts.

    PostgreSQL backends come and go with the gunicorn workers' connections, so two
    snapshots would miss them; each process counts from its first sample (or from zero
    when it was born inside the window) to its last.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.baseline = service_cpu_by_pid()
        self.last: dict[int, float] = dict(self.baseline)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.last.update(service_cpu_by_pid())

    def stop(self) -> float:
        self.done.set()
        self.join()
        self.last.update(service_cpu_by_pid())
        return sum(value - self.baseline.get(pid, 0.0) for pid, value in self.last.items())


def own_cpu_seconds() -> float:
    """This process and every child it has reaped (gunicorn masters reap their workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class LoadWindow:
    what: str
    load_before: str
    load_after: str = ""
    wall: float = 0.0
    own_share: float = 0.0  # this script, its servers and helpers, of the whole machine
    services_share: float = 0.0  # PostgreSQL and Redis (whoever they served)
    others_share: float = 0.0  # everything else, of the whole machine, while this window lasted


@contextlib.contextmanager
def watched(what: str, windows: list[LoadWindow]) -> Iterator[None]:
    window = LoadWindow(what, loadavg())
    sampler = ServiceSampler()
    sampler.start()
    busy, own = cpu_busy_seconds(), own_cpu_seconds()
    start = time.monotonic()
    try:
        yield
    finally:
        window.wall = time.monotonic() - start
        capacity = window.wall * (os.cpu_count() or 1)
        own = own_cpu_seconds() - own
        services = max(0.0, sampler.stop())
        others = (cpu_busy_seconds() - busy) - own - services
        window.own_share = own / capacity
        window.services_share = services / capacity
        window.others_share = max(0.0, others) / capacity
        window.load_after = loadavg()
        windows.append(window)


# Running the batches ---------------------------------------------------------------------------


def run_batch(side: Side, browsers: list[Browser], count: int) -> tuple[list[Sample], float]:
    """``count`` tasks of ``side`` over as many threads as browsers; the samples and the wall time."""
    inputs = side.prepare(count) if side.prepare else [None] * count
    samples: list[Sample | None] = [None] * count
    errors: list[BaseException] = []
    counter = itertools.count()
    lock = threading.Lock()
    barrier = threading.Barrier(len(browsers) + 1)

    def work(browser: Browser) -> None:
        barrier.wait()
        while not errors:
            with lock:
                index = next(counter)
            if index >= count:
                return
            try:
                samples[index] = side.run(browser, inputs[index])
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                errors.append(error)
                return

    threads = [threading.Thread(target=work, args=(browser,), daemon=True) for browser in browsers]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    return [sample for sample in samples if sample is not None], wall


def measure_pair(
    pair: Pair, browsers: list[Browser], rounds: int, per_worker: int, warmup: int
) -> dict[str, Any]:
    """Alternate PAR and DOT batches (A B, B A, A B, ...) and summarise both sides."""
    concurrency = len(browsers)
    # Two cores: beyond two busy workers a batch only queues longer, so it needs no more tasks.
    count = per_worker * min(concurrency, 2)
    for side in (pair.par, pair.dot):  # warm-up: imports, templates, connections, cache entries
        run_batch(side, browsers, warmup * concurrency)
    results = {"par": SideResult(pair.par.label), "dot": SideResult(pair.dot.label)}
    for round_index in range(rounds):
        order = ("par", "dot") if round_index % 2 == 0 else ("dot", "par")
        for which in order:
            side = pair.par if which == "par" else pair.dot
            samples, wall = run_batch(side, browsers, count)
            results[which].add_batch(samples, wall)
    par, dot = results["par"], results["dot"]
    latency_ratios = [a / b for a, b in zip(par.round_medians, dot.round_medians, strict=True)]
    throughput_ratios = [a / b for a, b in zip(par.throughputs, dot.throughputs, strict=True)]
    return {
        "key": pair.key,
        "title": pair.title,
        "target": pair.target,
        "hashed": pair.hashed,
        "rounds": rounds,
        "batch": count,
        "concurrency": concurrency,
        "par": par.summary(),
        "dot": dot.summary(),
        "latency_ratio": statistics.median(par.latencies) / statistics.median(dot.latencies),
        "latency_ratio_rounds": quartiles(latency_ratios),
        "throughput_ratio": statistics.median(throughput_ratios),
        "throughput_ratio_rounds": quartiles(throughput_ratios),
    }


def quartiles(values: list[float]) -> list[float]:
    return [percentile(values, 25), percentile(values, 50), percentile(values, 75)]


def make_pairs(port: int, redirect_uri: str) -> list[Pair]:
    def pushed_pages(count: int) -> list[str]:
        return client.prepare_pushes(port, CODE_PLAIN, redirect_uri, count)

    pairs = []
    for hashed, code_client, credentials_client, word in (
        (False, CODE_PLAIN, CREDENTIALS_PLAIN, "plain"),
        (True, CODE_HASHED, CREDENTIALS_HASHED, "hashed"),
    ):
        pairs.append(
            Pair(
                key=f"auth-{word}",
                title=f"Client authentication, {word} secret",
                par=Side(
                    "PAR push",
                    lambda browser, _input, c=code_client: client.task_push(browser, c, redirect_uri),
                ),
                dot=Side(
                    "DOT token, client_credentials",
                    lambda browser, _input, c=credentials_client: client.task_client_credentials(browser, c),
                ),
                flow=False,
                hashed=hashed,
                target="throughput",
            )
        )
    pairs.append(
        Pair(
            key="authorize",
            title="Consent page (logged-in user, 200)",
            par=Side(
                "with request_uri",
                lambda browser, uri: client.task_pushed_consent_page(browser, CODE_PLAIN, uri),
                prepare=pushed_pages,
            ),
            dot=Side(
                "classic query",
                lambda browser, _input: client.task_classic_consent_page(browser, CODE_PLAIN, redirect_uri),
            ),
            flow=False,
            hashed=False,
            target="authorize",
        )
    )
    for hashed, code_client, word in ((False, CODE_PLAIN, "plain"), (True, CODE_HASHED, "hashed")):
        pairs.append(
            Pair(
                key=f"login-{word}",
                title=f"Full login, {word} secret",
                par=Side(
                    "PAR login",
                    lambda browser, _input, c=code_client: client.task_pushed_login(browser, c, redirect_uri),
                ),
                dot=Side(
                    "classic login",
                    lambda browser, _input, c=code_client: client.task_classic_login(
                        browser, c, redirect_uri
                    ),
                ),
                flow=True,
                hashed=hashed,
                target="login",
            )
        )
    return pairs


def make_signed_pairs(port: int, redirect_uri: str) -> tuple[list[Pair], SignedPushes]:
    """A signed push against a client-secret push, the secret stored plain or hashed (cache warm)."""
    signer = SignedPushes(port, SIGNED, redirect_uri, key_pair("EC"), key_pair("RSA"))
    pairs = []
    for hashed, secret_client, word in ((False, CODE_PLAIN, "plain"), (True, CODE_HASHED, "hashed")):
        pairs.append(
            Pair(
                key=f"signed-{word}",
                title=f"Signed push against a push with a {word} secret",
                par=Side("signed push", client.task_signed_push, prepare=signer.prepare),
                dot=Side(
                    f"client_secret_basic push, {word} secret",
                    lambda browser, _input, c=secret_client: client.task_push(browser, c, redirect_uri),
                ),
                flow=False,
                hashed=hashed,
                target="signed",
            )
        )
    return pairs, signer


def batch_size(pair: Pair, cache: str, sizes: Sizes) -> tuple[int, int]:
    """(rounds, tasks per worker) for a pair: cold hashing costs half a second a time."""
    if pair.hashed and cache == "off":
        return sizes.cold_rounds, sizes.cold_flow if pair.flow else sizes.cold_single
    return sizes.rounds, sizes.flow if pair.flow else sizes.single


# The whole run -----------------------------------------------------------------------------------


def log(message: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    packages = {
        name: version(name)
        for name in ("Django", "django-oauth-toolkit", "oauthlib", "gunicorn", "psycopg", "redis")
        if _installed(name)
    }
    redis_version = ""
    if redis_ok():
        with contextlib.suppress(Exception):
            import redis

            redis_version = str(redis.Redis(host=REDIS_HOST, port=REDIS_PORT).info("server")["redis_version"])
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": packages,
        "redis": redis_version,
        "git": _git_state(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _installed(name: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(name)
    except PackageNotFoundError:
        return False
    return True


def _git_state() -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        commit = subprocess.run(  # noqa: S603
            [git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            [git, "status", "--porcelain", "--", "django_oauth_par"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" with uncommitted changes in django_oauth_par/" if dirty else "")


def cleanup_benchmark(database: Database, rows: int) -> dict[str, Any]:
    """Time ``manage.py clearpushedrequests`` on ``rows`` expired rows inserted with SQL."""
    manage = [PYTHON, str(ROOT / "manage.py"), "clearpushedrequests"]
    env = django_env(database)

    def command() -> tuple[float, str]:
        start = time.perf_counter()
        result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            manage, cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        return time.perf_counter() - start, result.stdout.strip()

    command()  # what the timed runs left behind
    filled = run_prepare(database, "fill", "--rows", str(rows))
    seconds, output = command()
    empty_seconds, _ = command()  # start-up and one empty pass: the fixed cost
    left = run_prepare(database, "count")["rows"]
    deleting = max(seconds - empty_seconds, 1e-6)
    return {
        "database": database.name,
        "rows": rows,
        "rows_before": filled["rows"],
        "rows_after": left,
        "insert_seconds": filled["insert_seconds"],
        "command_seconds": seconds,
        "startup_seconds": empty_seconds,
        "rows_per_second": rows / deleting,
        "output": output,
    }


@dataclass
class Plan:
    sizes: Sizes
    databases: list[str]
    workers: list[int]
    cleanup_rows: int
    have_redis: bool
    port: int
    out: Path
    profile_iterations: int
    signed: bool  # measure signed pushes
    only_signed: bool  # and nothing else
    signed_jwks: str  # the public keys of the signing client
    audit_off: bool  # measure the pairs again with the audit trail off
    only_audit_off: bool  # and nothing else

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def measure_database(
    plan: Plan, database: Database, report: dict[str, Any], windows: list[LoadWindow], logs: Path
) -> None:
    """Every worker count and cache setting on one database, then its in-process extras."""
    pairs = make_pairs(plan.port, f"{plan.base_url}/demo/callback/")
    name = database.name
    setup = ["setup", "--base-url", plan.base_url]
    if plan.signed:
        setup += ["--signed-client-jwks", plan.signed_jwks]
    with watched(f"{name}: migrate and set up", windows):
        info = run_prepare(database, *setup)
    database.version = info["database_version"]
    report["databases"][name] = info
    if plan.signed:
        report["signed_push"]["databases"][name] = info
    if plan.audit_off:
        report["audit_off"]["databases"][name] = info
    log(f"{database.version} ready ({info['secret_storage']})")
    if not (plan.only_signed or plan.only_audit_off):
        measure_comparisons(plan, database, pairs, report, windows, logs)
    if plan.signed:
        measure_signed(plan, database, report["signed_push"], logs)
    if plan.audit_off:
        measure_audit_off(plan, database, pairs, report["audit_off"], logs)


def measure_signed(plan: Plan, database: Database, signed: dict[str, Any], logs: Path) -> None:
    """Signed pushes against client-secret pushes on one server per worker count, cache on.

    The cache must be shared by every worker for the jti store to refuse a replay anywhere,
    so several workers need Redis; without it, one worker with a locmem cache is measured.
    """
    pairs, signer = make_signed_pairs(plan.port, f"{plan.base_url}/demo/callback/")
    name = database.name
    for workers in plan.workers:
        if plan.have_redis:
            cache = "redis"
        elif workers == 1:
            cache = "locmem"
        else:
            signed["notes"].append(f"{name}, {workers} workers: no Redis, signed pushes not measured")
            continue
        what = f"{name}, {workers} worker{'' if workers == 1 else 's'}, signed pushes, cache {cache}"
        windows: list[LoadWindow] = []
        with watched(what, windows), serve(database, plan.port, workers, cache, logs):
            browsers = [Browser(plan.port) for _ in range(workers)]
            for pair in pairs:
                signer.signing_seconds.clear()
                sizes = plan.sizes
                result = measure_pair(pair, browsers, sizes.rounds, sizes.single, sizes.warmup)
                result.update(
                    {
                        "database": name,
                        "workers": workers,
                        "cache": cache,
                        "load": loadavg(),
                        "signing_ms": statistics.median(signer.signing_seconds) * 1e3,
                        "signed": len(signer.signing_seconds),
                    }
                )
                signed["runs"].append(result)
                par, dot = result["par"], result["dot"]
                log(
                    f"{what}: {pair.key}: signed {par['throughput']:.0f}/s, secret "
                    f"{dot['throughput']:.0f}/s, throughput x{result['throughput_ratio']:.2f}; "
                    "cache round trips per signed push "
                    f"{par['cache_trips']} ({par['jti_trips']} on jti keys), SQL {par['queries']:g} "
                    f"against {dot['queries']:g}; signing {result['signing_ms']:.2f} ms a push"
                )
        signed["load_windows"].extend(asdict(window) for window in windows)


def cache_settings(plan: Plan, name: str, workers: int, notes: list[str]) -> list[str]:
    """The verified-secret cache settings measured with ``workers`` workers: off, then on if it can be."""
    if plan.have_redis:
        return ["off", "redis"]
    if workers == 1:
        return ["off", "locmem"]
    notes.append(f"{name}, {workers} workers: no Redis, cache-on runs skipped")
    return ["off"]


def measure_server(
    plan: Plan,
    database: Database,
    pairs: list[Pair],
    workers: int,
    cache: str,
    browsers: list[Browser],
    runs: list[dict[str, Any]],
    what: str,
    logs: Path,
    audit_trail: bool = True,
) -> None:
    """``pairs`` on one gunicorn server; ``browsers`` get logged in on first use and reused after."""
    with serve(database, plan.port, workers, cache, logs, audit_trail):
        while len(browsers) < max(plan.workers):
            browser = Browser(plan.port)
            browser.log_in("demo", "demo-password")
            browsers.append(browser)
        for pair in pairs:
            rounds, per_worker = batch_size(pair, cache, plan.sizes)
            result = measure_pair(pair, browsers[:workers], rounds, per_worker, plan.sizes.warmup)
            result.update({"database": database.name, "workers": workers, "cache": cache, "load": loadavg()})
            if not audit_trail:
                result["audit_trail"] = False
            runs.append(result)
            log(
                f"{what}: {pair.key}: PAR {result['par']['median_ms']:.1f} ms, "
                f"DOT {result['dot']['median_ms']:.1f} ms, latency x{result['latency_ratio']:.2f}, "
                f"throughput x{result['throughput_ratio']:.2f}"
            )


def measure_audit_off(
    plan: Plan, database: Database, pairs: list[Pair], part: dict[str, Any], logs: Path
) -> None:
    """The PAR-against-DOT pairs again, on servers with ``OAUTH2_PAR["AUDIT_TRAIL"]`` off.

    Servers, sizes and order as in :func:`measure_comparisons`, but hashed secrets only with the
    verified-secret cache on: cold, PBKDF2 takes 190 ms on both sides and hides what PAR adds.
    """
    name = database.name
    browsers: list[Browser] = []
    windows: list[LoadWindow] = []
    for workers in plan.workers:
        for cache in cache_settings(plan, name, workers, part["notes"]):
            chosen = [pair for pair in pairs if pair.hashed == (cache != "off")]
            what = f"{name}, {workers} worker{'' if workers == 1 else 's'}, secret cache {cache}"
            what += ", audit trail off"
            with watched(what, windows):
                measure_server(
                    plan, database, chosen, workers, cache, browsers, part["runs"], what, logs, False
                )
    part["load_windows"].extend(asdict(window) for window in windows)


def measure_comparisons(
    plan: Plan,
    database: Database,
    pairs: list[Pair],
    report: dict[str, Any],
    windows: list[LoadWindow],
    logs: Path,
) -> None:
    """The PAR-against-DOT pairs on every worker count and cache setting, then the in-process extras."""
    name = database.name
    browsers: list[Browser] = []
    for workers in plan.workers:
        for cache in cache_settings(plan, name, workers, report["notes"]):
            # Plain secrets never touch the cache.
            chosen = [pair for pair in pairs if cache == "off" or pair.hashed]
            what = f"{name}, {workers} worker{'' if workers == 1 else 's'}, secret cache {cache}"
            with watched(what, windows):
                measure_server(plan, database, chosen, workers, cache, browsers, report["runs"], what, logs)
    if name == plan.databases[0]:
        with watched("verified-secret cache: cold vs warm, in-process", windows):
            cold, warm = plan.sizes.warm_cold_runs
            report["warm_cold"] = [
                run_prepare(
                    database,
                    "warmcold",
                    "--cold",
                    str(cold),
                    "--warm",
                    str(warm),
                    extra={"BENCH_SECRET_CACHE_SECONDS": str(SECRET_CACHE_SECONDS), "BENCH_CACHE": backend},
                )
                for backend in (["locmem", "redis"] if plan.have_redis else ["locmem"])
            ]
        log(f"warm/cold: {[round(result['check']['speedup']) for result in report['warm_cold']]}x faster")
    if plan.profile_iterations > 0:
        target = plan.out.with_name(f"{plan.out.stem}-profile-{name}.txt")
        with watched(f"{name}: in-process profile of both logins", windows):
            iterations = str(plan.profile_iterations)
            subprocess.run(  # noqa: S603 - our own interpreter and module
                [PYTHON, "-m", "bench.profile_steps", "--iterations", iterations, "--out", str(target)],
                cwd=ROOT,
                env=django_env(database, {"BENCH_MEASURE": "0"}),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # the audit log lines
                check=True,
            )
        report.setdefault("profiles", {})[name] = target.name
        log(f"profile: {target}")
    cleanup_on = "postgres" if "postgres" in plan.databases else plan.databases[-1]
    if name == cleanup_on and plan.cleanup_rows > 0:
        with watched(f"{name}: clearpushedrequests on {plan.cleanup_rows:,} rows", windows):
            report["cleanup"] = cleanup_benchmark(database, plan.cleanup_rows)
        log(f"cleanup: {report['cleanup']['rows_per_second']:.0f} rows/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under 3 minutes)")
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite,postgres (default both)")
    parser.add_argument("--workers", default=None, help="gunicorn worker counts (default 1,2,4; quick 1,2)")
    parser.add_argument("--out", default="docs/benchmarks.md", help="the report (chart and JSON beside it)")
    parser.add_argument("--cleanup-rows", type=int, default=None, help="rows for the cleanup timing")
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="profile both logins in-process on each database, into OUT-profile-DB.txt beside the "
        "report (default: on for a full run, off with --quick)",
    )
    parser.add_argument(
        "--signed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure signed pushes (private_key_jwt ES256 + request object PS256) against "
        "client-secret pushes, with the cache on (default: on)",
    )
    parser.add_argument(
        "--audit-off",
        action=argparse.BooleanOptionalAction,
        default=True,
        help='also measure the PAR-against-DOT pairs on servers with OAUTH2_PAR["AUDIT_TRAIL"] off '
        "(default: on)",
    )
    parser.add_argument(
        "--only",
        choices=["signed-push", "audit-off"],
        default=None,
        help="measure only this part and update its section of the report at --out, whose JSON "
        "(written by an earlier run) must exist",
    )
    parser.add_argument(
        "--postgres-database",
        default=POSTGRES_DATABASE,
        help=f"the scratch PostgreSQL database, dropped and created again (default {POSTGRES_DATABASE})",
    )
    args = parser.parse_args(argv)

    sizes = QUICK if args.quick else FULL
    only_signed = args.only == "signed-push"
    only_audit_off = args.only == "audit-off"
    if only_signed and not args.signed:
        parser.error("--only signed-push measures signed pushes: drop --no-signed")
    if only_audit_off and not args.audit_off:
        parser.error("--only audit-off measures the pairs without the audit trail: drop --no-audit-off")
    profile = (not args.quick) if args.profile is None else args.profile
    if args.only and (args.profile or args.cleanup_rows):
        parser.error(f"--only {args.only} measures nothing else: no --profile, no --cleanup-rows")
    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    for name in databases:
        if name not in ("sqlite", "postgres"):
            parser.error(f"unknown database {name!r}")
    if "postgres" in databases and not reachable("127.0.0.1", 5432):
        parser.error("PostgreSQL is not listening on 127.0.0.1:5432")
    plan = Plan(
        sizes=sizes,
        databases=databases,
        workers=[int(n) for n in (args.workers or ("1,2" if args.quick else "1,2,4")).split(",")],
        cleanup_rows=args.cleanup_rows if args.cleanup_rows is not None else sizes.cleanup_rows,
        have_redis=redis_ok(),
        port=free_port(),
        out=Path(args.out) if Path(args.out).is_absolute() else ROOT / args.out,
        profile_iterations=sizes.profile_iterations if profile and not args.only else 0,
        signed=args.signed and not only_audit_off,
        only_signed=only_signed,
        signed_jwks=public_jwks(key_pair("EC"), key_pair("RSA"))
        if args.signed and not only_audit_off
        else "",
        audit_off=args.audit_off and not only_signed,
        only_audit_off=only_audit_off,
    )
    postgres_url = f"postgresql://postgres@127.0.0.1:5432/{args.postgres_database}"
    out = plan.out
    earlier: dict[str, Any] = {}
    if args.only:
        try:
            earlier = json.loads(out.with_suffix(".json").read_text())
        except (OSError, ValueError) as error:
            parser.error(f"--only needs the JSON of an earlier full run beside {out}: {error}")

    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started = time.monotonic()
    command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report: dict[str, Any] = {
        "quick": args.quick,
        "sizes": asdict(sizes),
        "machine": machine(),
        "load_start": loadavg(),
        "runs": [],
        "notes": [] if plan.have_redis else ["Redis not reachable: cache-on runs use locmem (1 worker only)"],
        "databases": {},
    }

    def part(note: str) -> dict[str, Any]:
        """A part with its own stamp and load figures, which its ``--only`` run replaces alone."""
        return {
            "command": command,
            "quick": args.quick,
            "sizes": asdict(sizes),
            "machine": report["machine"],
            "runs": [],
            "notes": [] if plan.have_redis else [note],
            "databases": {},
            "load_windows": [],
        }

    if plan.signed:
        report["signed_push"] = part("Redis not reachable: 1 worker only, with a locmem cache")
    if plan.audit_off:
        report["audit_off"] = part("Redis not reachable: cache-on runs use locmem (1 worker only)")
    windows: list[LoadWindow] = []
    log(f"port {plan.port}; databases {databases}; workers {plan.workers}; load {loadavg()}")
    logs = Path(tempfile.mkdtemp(prefix="oauth-par-bench-"))
    succeeded = False
    try:
        for name in databases:
            if name == "postgres":
                recreate_postgres_database(postgres_url)
                database = Database(name, postgres_url)
            else:
                database = Database(name, f"sqlite:///{logs / 'bench.sqlite3'}")
            try:
                measure_database(plan, database, report, windows, logs)
            finally:
                stop_all()
                if name == "postgres":
                    drop_postgres_database(postgres_url)
        succeeded = True
    finally:
        stop_all()
        if succeeded:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            log(f"failed: the servers' logs are kept in {logs}")

    report["load_end"] = loadavg()
    report["load_windows"] = [asdict(window) for window in windows]
    report["elapsed_seconds"] = time.monotonic() - started
    report["command"] = command
    for key, alone in (("signed_push", only_signed), ("audit_off", only_audit_off)):
        if key in report:
            part = report[key]
            part["measured_seconds"] = sum(window["wall"] for window in part["load_windows"])
            part["elapsed_seconds"] = report["elapsed_seconds"] if alone else None

    from bench.report import write_report

    out.parent.mkdir(parents=True, exist_ok=True)
    if args.only:
        # The rest of the page stays as the earlier run left it; the chart shows none of this part.
        key = "signed_push" if only_signed else "audit_off"
        earlier[key] = report[key]
        out.with_suffix(".json").write_text(json.dumps(earlier, indent=1) + "\n")
        write_report(earlier, out, out.with_suffix(".png"), draw=False)
        log(f"done in {report['elapsed_seconds'] / 60:.1f} min: the {args.only} section of {out}")
        return 0
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    write_report(report, out, out.with_suffix(".png"))
    log(f"done in {report['elapsed_seconds'] / 60:.1f} min: {out}, {out.with_suffix('.png').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
