"""The report of ``bench/run.py``: Markdown tables and one chart (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: What each target allows, as the PAR / DOT ratio of a figure.
LATENCY_LIMITS = {"authorize": 1.10, "login": 1.25}
#: A signed push's throughput, at least this share of a client-secret push's on the same server.
SIGNED_THROUGHPUT_LIMIT = 0.8
#: Round trips (cache or database) the jti store may add to a push.
JTI_ROUND_TRIPS_LIMIT = 1
TIMES = "\u00d7"  # the multiplication sign, kept out of the source as a literal
DASH = "\u2013"
DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
CACHE_NAMES = {"off": "off", "redis": "on (Redis)", "locmem": "on (locmem)"}
SCENARIO_ORDER = ["auth-plain", "auth-hashed", "authorize", "login-plain", "login-hashed"]


def scenario_name(run: dict[str, Any]) -> str:
    names = {
        "auth-plain": "client auth, plain secret",
        "auth-hashed": "client auth, hashed secret",
        "authorize": "consent page",
        "login-plain": "full login, plain secret",
        "login-hashed": "full login, hashed secret",
    }
    name = names[run["key"]]
    if run["hashed"]:
        name += ", cache " + ("off" if run["cache"] == "off" else "on")
    return name


def verdict(run: dict[str, Any]) -> tuple[bool, float, float, str]:
    """(met, measured ratio, limit, what) for the target a run answers."""
    if run["target"] == "throughput":
        return run["throughput_ratio"] >= 1.0, run["throughput_ratio"], 1.0, "push/token throughput"
    limit = LATENCY_LIMITS[run["target"]]
    return run["latency_ratio"] <= limit, run["latency_ratio"], limit, "PAR/classic median latency"


def cpu_verdict(run: dict[str, Any]) -> tuple[bool, float]:
    """The same target judged on the gunicorn worker's median CPU time per operation."""
    ratio = run["par"]["cpu_median_ms"] / run["dot"]["cpu_median_ms"]
    limit = 1.0 if run["target"] == "throughput" else LATENCY_LIMITS[run["target"]]
    return ratio <= limit, ratio


def cost(run: dict[str, Any]) -> float:
    """PAR's cost relative to DOT's, lower is better: time per operation.

    For the client-authentication pairs, whose target is throughput, the inverse of the
    throughput ratio; for the others the ratio of median latencies.
    """
    if run["target"] == "throughput":
        return 1 / run["throughput_ratio"]
    return float(run["latency_ratio"])


def within_noise(run: dict[str, Any]) -> bool:
    """Whether the per-round ratios' interquartile range straddles the target's limit."""
    _met, _ratio, limit, _what = verdict(run)
    key = "throughput_ratio_rounds" if run["target"] == "throughput" else "latency_ratio_rounds"
    low, _median, high = run[key]
    return low <= limit <= high


def workers_text(count: int) -> str:
    return f"{count} worker" + ("" if count == 1 else "s")


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def ms(value: float) -> str:
    return fmt(value, 1) if value < 100 else fmt(value, 0)


def sorted_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        runs,
        key=lambda run: (
            list(DATABASE_NAMES).index(run["database"]),
            SCENARIO_ORDER.index(run["key"]),
            run["cache"] != "off",
            run["workers"],
        ),
    )


def write_report(report: dict[str, Any], out: Path, chart: Path, draw: bool = True) -> None:
    """The page at ``out`` from a run's figures; the chart too, at ``chart``, unless ``draw`` is off."""
    runs = sorted_runs(report["runs"])
    if draw:
        draw_chart(report, runs, chart)
    lines: list[str] = []
    add = lines.append
    machine = report["machine"]
    packages = machine["packages"]
    add("# Benchmarks")
    add("")
    add(
        f"Measured on {machine['date']} by `{report['command'].strip()}`"
        + (" (**quick run: few samples, figures indicative only**)" if report["quick"] else "")
        + f", in {report['elapsed_seconds'] / 60:.1f} minutes. Code: {machine['git']}. "
        f"Raw figures: [{out.with_suffix('.json').name}]({out.with_suffix('.json').name})."
    )
    add("")
    add("To reproduce (needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379, see below):")
    add("")
    add("    .venv/bin/python bench/run.py                    # full run, about 10 minutes")
    add("    .venv/bin/python bench/run.py --quick            # about 2 minutes, indicative only")
    add("    .venv/bin/python bench/run.py --databases postgres --workers 1,2,4 --out docs/benchmarks.md")
    add("    .venv/bin/python bench/run.py --only signed-push # signed pushes alone, about 2 minutes")
    add("    .venv/bin/python bench/run.py --only audit-off   # without the audit trail, about 3 minutes")
    add("")
    add(f"![PAR against DOT's equivalent operations]({chart.name})")
    add("")
    write_targets(add, report, runs)
    write_key_figures(add, runs)
    add("## The machine")
    add("")
    add("| | |")
    add("| --- | --- |")
    add(f"| CPU | {machine['cpu_model']}, {machine['cores']} cores, {machine['memory_gib']} GiB |")
    add(f"| kernel | Linux {machine['kernel']} |")
    add(f"| Python | {machine['python']} |")
    add(
        f"| Django / DOT / oauthlib | {packages.get('Django', '?')} / "
        f"{packages.get('django-oauth-toolkit', '?')} / {packages.get('oauthlib', '?')} |"
    )
    add(f"| gunicorn | {packages.get('gunicorn', '?')} (sync workers) |")
    for name, info in report["databases"].items():
        add(f"| {DATABASE_NAMES[name]} | {info['database_version']} |")
    if machine.get("redis"):
        add(f"| Redis | {machine['redis']} (redis-py {packages.get('redis', '?')}) |")
    add(
        f"| load average (1, 5, 15 min) | {report['load_start']} at the start, "
        f"{report['load_end']} at the end |"
    )
    add("")
    write_method(add, report)
    for database in report["databases"]:
        write_database(add, database, [run for run in runs if run["database"] == database])
    write_audit_off(add, report, runs)
    write_signed(add, report)
    write_steps(add, report, runs)
    write_warm_cold(add, report)
    write_scale(add, report, runs)
    write_load(add, report)
    out.write_text("\n".join(lines) + "\n")


TARGET_GROUPS = [
    ("push throughput ≥ token endpoint, same client authentication", "throughput", None),
    ("authorization with `request_uri` within 10 % of classic", "authorize", None),
    ("full PAR login within 25 % of classic login: plain secrets", "login", "plain"),
    ("full PAR login within 25 % of classic login: hashed secrets, cache on", "login", "on"),
    ("full PAR login within 25 % of classic login: hashed secrets, cache off", "login", "off"),
]


def write_target_rows(add: Any, runs: list[dict[str, Any]], suffix: str) -> None:
    """One row per target that ``runs`` answer, its title followed by ``suffix``."""
    for title, target, variant in TARGET_GROUPS:
        chosen = [run for run in runs if run["target"] == target]
        if variant == "plain":
            chosen = [run for run in chosen if not run["hashed"]]
        elif variant == "on":
            chosen = [run for run in chosen if run["hashed"] and run["cache"] != "off"]
        elif variant == "off":
            chosen = [run for run in chosen if run["hashed"] and run["cache"] == "off"]
        if not chosen:
            continue
        judged = [(verdict(run), run) for run in chosen]
        met = sum(1 for (ok, *_), _run in judged if ok)
        if target == "throughput":
            (_ok, ratio, _limit, _what), worst = min(judged, key=lambda item: item[0][1])
        else:
            (_ok, ratio, _limit, _what), worst = max(judged, key=lambda item: item[0][1])
        where = (
            f"{TIMES}{ratio:.2f} ({DATABASE_NAMES[worst['database']]}, {workers_text(worst['workers'])}, "
            f"{scenario_name(worst)})"
        )
        if met == len(judged):
            word = "**met**"
        elif met == 0:
            word = "**not met**"
        else:
            word = f"**not met** in {len(judged) - met} of {len(judged)}"
        noisy = [run for (ok, *_), run in judged if not ok and within_noise(run)]
        if noisy and len(noisy) == len(judged) - met:
            word += " (each miss within noise)"
        cpu = [cpu_verdict(run) for _verdict, run in judged]
        cpu_met = sum(1 for ok, _ratio in cpu if ok)
        cpu_worst = max(ratio for _ok, ratio in cpu)
        cpu_word = f"met in {cpu_met} of {len(cpu)}, worst {TIMES}{cpu_worst:.2f}"
        add(f"| {title}{suffix} | {met} of {len(judged)} | {where} | {word} | {cpu_word} |")


def write_targets(add: Any, report: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    add("## Targets")
    add("")
    add(
        f"Each target is judged on every configuration measured (database {TIMES} workers {TIMES} secret "
        f"storage {TIMES} verified-secret cache). *Within noise* means the interquartile range of the "
        "per-round ratios straddles the limit, so the verdict could flip on another run."
    )
    add("")
    add("| target | configurations met | worst case | verdict | judged on server CPU instead |")
    add("| --- | --- | --- | --- | --- |")
    write_target_rows(add, runs, "")
    write_target_rows(add, audit_off_runs(report), ", audit trail off")
    if report.get("warm_cold"):
        speedups = [
            (result[level]["speedup"], result["backend"], level)
            for result in report["warm_cold"]
            for level in ("check", "authenticate")
        ]
        lowest, backend, level = min(speedups)
        what = "whole client authentication" if level == "authenticate" else "secret check"
        add(
            f"| verified-secret cache: warm path {TIMES}50 faster than cold, per authentication | "
            f"{sum(1 for value, *_ in speedups if value >= 50)} of {len(speedups)} | "
            f"{TIMES}{lowest:,.0f} ({backend}, {what}) | "
            f"**{'met' if lowest >= 50 else 'not met'}** | — |"
        )
    write_signed_targets(add, report)
    add("")
    add(
        "The throughput ratio is the median over rounds of (pushes per second) / (tokens per "
        "second) in the same round; the latency ratios are the PAR side's median over the DOT "
        "side's median, all requests of all rounds pooled. The last column judges the same "
        "limits on the median CPU time the gunicorn worker spent per operation (PAR / DOT; for "
        "the throughput target, PAR's CPU per push must not exceed DOT's per token), which "
        "other processes on the machine disturb far less than wall-clock time."
    )
    add("")
    signed = report.get("signed_push")
    if signed and signed["machine"]["date"] != report["machine"]["date"]:
        add(
            f"The signed-push rows come from a run of their own, `{signed['command'].strip()}` on "
            f"{signed['machine']['date']} (code {signed['machine']['git']}): see *Signed pushes* below."
        )
        add("")
    audit_off = report.get("audit_off")
    if audit_off and audit_off["runs"]:
        origin = ""
        if audit_off["machine"]["date"] != report["machine"]["date"]:
            origin = (
                f", measured by a run of their own, `{audit_off['command'].strip()}` on "
                f"{audit_off['machine']['date']} (code {audit_off['machine']['git']})"
            )
        add(
            "The rows ending *audit trail off* judge the same limits on servers with "
            f'`OAUTH2_PAR["AUDIT_TRAIL"] = False`{origin}: see *Without the audit trail* below. '
            "The other rows run with it on, the app's default."
        )
        add("")


def audit_off_runs(report: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted_runs(report.get("audit_off", {}).get("runs", []))


def signed_runs(report: dict[str, Any]) -> list[dict[str, Any]]:
    runs = report.get("signed_push", {}).get("runs", [])
    return sorted(
        runs,
        key=lambda run: (list(DATABASE_NAMES).index(run["database"]), run["hashed"], run["workers"]),
    )


def baseline_name(run: dict[str, Any]) -> str:
    return "hashed, cache warm" if run["hashed"] else "stored plain"


def where(run: dict[str, Any]) -> str:
    return f"{DATABASE_NAMES[run['database']]}, {workers_text(run['workers'])}, secret {baseline_name(run)}"


def verdict_word(met: int, total: int, noisy: int = 0) -> str:
    if met == total:
        return "**met**"
    word = "**not met**" if met == 0 else f"**not met** in {total - met} of {total}"
    if noisy and noisy == total - met:
        word += " (each miss within noise)"
    return word


def write_signed_targets(add: Any, report: dict[str, Any]) -> None:
    runs = signed_runs(report)
    limit = SIGNED_THROUGHPUT_LIMIT
    for hashed, what in ((False, "stored plain"), (True, "hashed, verified-secret cache warm")):
        chosen = [run for run in runs if run["hashed"] == hashed]
        if not chosen:
            continue
        met = [run for run in chosen if run["throughput_ratio"] >= limit]
        noisy = [
            run
            for run in chosen
            if run["throughput_ratio"] < limit
            and run["throughput_ratio_rounds"][0] <= limit <= run["throughput_ratio_rounds"][2]
        ]
        worst = min(chosen, key=lambda run: run["throughput_ratio"])
        # On CPU: the signed push may cost the worker up to 1 / limit times a secret push's CPU.
        cpu = [run["par"]["cpu_median_ms"] / run["dot"]["cpu_median_ms"] for run in chosen]
        cpu_met = sum(1 for ratio in cpu if ratio <= 1 / limit)
        add(
            f"| signed push (`private_key_jwt` ES256, request object PS256) ≥ {limit:g}{TIMES} the "
            f"throughput of a `client_secret_basic` push, secret {what} | {len(met)} of {len(chosen)} | "
            f"{TIMES}{worst['throughput_ratio']:.2f} ({where(worst)}) | "
            f"{verdict_word(len(met), len(chosen), len(noisy))} | "
            f"met in {cpu_met} of {len(cpu)} (CPU per push ≤ {1 / limit:.2f}{TIMES} the secret push's), "
            f"worst {TIMES}{max(cpu):.2f} |"
        )
    if runs:
        # The jti store is the cache alone (django_oauth_par.jose.use_once): its round trips are
        # the Redis commands that name a jti key. The SQL columns of the section show that a
        # signed push sends no more statements than a secret push.
        counted = [run for run in runs if run["par"].get("jti_trips_max") is not None]
        if counted:
            fine = [run for run in counted if run["par"]["jti_trips_max"] <= JTI_ROUND_TRIPS_LIMIT]
            worst = max(counted, key=lambda run: run["par"]["jti_trips_max"])
            par, dot = worst["par"], worst["dot"]
            trips = par["jti_trips_max"]
            add(
                f"| the jti store adds at most {JTI_ROUND_TRIPS_LIMIT} cache or database round trip to a "
                f"signed push | {len(fine)} of {len(counted)} | {trips} Redis round trip"
                f"{'' if trips == 1 else 's'} on jti keys per signed push; SQL statements "
                f"{par['queries']:g} signed, {dot['queries']:g} secret ({where(worst)}) | "
                f"{verdict_word(len(fine), len(counted))} "
                "| — |"
            )
        else:
            add(
                "| the jti store adds at most one cache or database round trip to a signed push | "
                "not counted (no Redis) | — | — | — |"
            )


def write_key_figures(add: Any, runs: list[dict[str, Any]]) -> None:
    add("## Key figures (1 worker)")
    add("")
    add(
        "Median wall-clock latency seen by the client, and the median CPU time the gunicorn "
        "worker spent on it (a figure other processes on the machine hardly disturb). A "
        "login is the sum of its requests."
    )
    add("")
    add(
        f"| database | scenario | PAR ms | DOT ms | {TIMES}latency | PAR CPU ms | DOT CPU ms "
        f"| {TIMES}CPU | queries PAR / DOT |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        if run["workers"] != 1:
            continue
        par, dot = run["par"], run["dot"]
        add(
            f"| {DATABASE_NAMES[run['database']]} | {scenario_name(run)} | {ms(par['median_ms'])} | "
            f"{ms(dot['median_ms'])} | {run['latency_ratio']:.2f} | {ms(par['cpu_median_ms'])} | "
            f"{ms(dot['cpu_median_ms'])} | {par['cpu_median_ms'] / dot['cpu_median_ms']:.2f} | "
            f"{par['queries']:g} / {dot['queries']:g} |"
        )
    add("")


def write_method(add: Any, report: dict[str, Any]) -> None:
    sizes = report["sizes"]
    add("## What is measured, and how")
    add("")
    add(
        "`bench/run.py` serves `example_project` with gunicorn (sync workers) on 127.0.0.1, "
        "with `bench/settings.py` (the example's settings, `DEBUG = False`, persistent database "
        "connections `CONN_MAX_AGE=600`, and the switches below). Every pair of operations is "
        "timed in alternated batches within one server: A B, B A, A B, … so that a burst of "
        "load from elsewhere falls on both sides alike. Each batch runs as many client threads "
        "as the server has workers (closed loop), so with 1 worker the figures are latencies "
        "and with several they are saturated throughput. The load generator (Python, "
        "`http.client`, one connection per request as sync workers close it anyway) runs on "
        "the same two cores."
    )
    add("")
    add("| pair | PAR side (A) | DOT side (B) |")
    add("| --- | --- | --- |")
    add(
        "| client auth | `POST /o/par/` with `client_secret_basic`, client `demo-rp` (hashed) or "
        "`bench-code-plain` | `POST /o/token/` `grant_type=client_credentials`, `client_secret_basic`, "
        "client `bench-cc-hashed` or `bench-cc-plain`: same secret, stored the same way |"
    )
    add(
        "| consent page | `GET /o/authorize/?client_id&request_uri` (pushed beforehand, untimed) | "
        "`GET /o/authorize/?response_type=code&…` with the same parameters |"
    )
    add(
        "| full login | push + consent page + consent POST + code exchange (PKCE, "
        "`client_secret_basic`) | consent page + consent POST + code exchange |"
    )
    add("")
    add(
        "Every request is checked (201 and a `request_uri`, 200 and a consent form, 302 with a "
        "code, 200 with an `id_token`); a run with any other answer stops. The user `demo` is "
        "logged in (one session per client thread); scopes `openid profile read`, so the code "
        "exchange signs an ID token. Secrets are hashed with DOT's default (Django's PBKDF2, "
        "1,000,000 iterations) or stored plain (`hash_client_secret=False`)."
    )
    add("")
    add(
        "**Verified-secret cache.** *Off*: `VERIFIED_SECRET_CACHE_SECONDS = 0`, DOT's own "
        'validator. *On*: `OAUTH2_PAR["VERIFIED_SECRET_CACHE_SECONDS"] = 600` for the PAR '
        'endpoint and `OAUTH2_VALIDATOR_CLASS = "bench.validators.CachedSecretValidator"` '
        "(`VerifiedSecretCacheMixin` + DOT's `OAuth2Validator`) for the token endpoint, with "
        "Django's `RedisCache` on 127.0.0.1:6379 for every worker count (a locmem cache would "
        "be per process). Plain secrets never use the cache, so plain scenarios run with it off "
        "only; the consent page involves no client secret and runs with it off only."
    )
    add("")
    add(
        "**Queries and server time.** `bench.middleware.MeasureMiddleware`, outermost in "
        "`MIDDLEWARE`, counts every SQL statement Django sends during the request "
        "(`connection.execute_wrapper`; savepoints and the session save included) and reports "
        "it with the request's wall and thread-CPU time in response headers. The server CPU "
        "time leaves out PostgreSQL's and Redis's own processes."
    )
    add("")
    add(
        f"**Sizes.** {sizes['rounds']} rounds per pair, {sizes['single']} single requests or "
        f"{sizes['flow']} logins per worker per batch; pairs that hash a secret on every request "
        f"(cache off) {sizes['cold_rounds']} rounds of {sizes['cold_single']} requests or "
        f"{sizes['cold_flow']} login(s) per worker. Each side is warmed up with "
        f"{sizes['warmup']} tasks per worker first. p99 over few samples is close to the maximum; "
        "the `n` columns say how many."
    )
    add("")


def write_database(add: Any, database: str, runs: list[dict[str, Any]]) -> None:
    if not runs:
        return
    add(f"## {DATABASE_NAMES[database]}: every configuration")
    add("")
    write_runs_table(add, runs)


def write_runs_table(add: Any, runs: list[dict[str, Any]]) -> None:
    add(
        "Latency: median / p99 in ms (n requests or logins per side). Throughput: median over "
        "rounds, per second. Ratios are PAR / DOT; for latency the per-round interquartile "
        "range follows in brackets."
    )
    add("")
    add(
        f"| scenario | workers | PAR ms | DOT ms | {TIMES}latency | PAR /s | DOT /s | {TIMES}throughput "
        "| CPU ms PAR / DOT | queries PAR / DOT | n |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        par, dot = run["par"], run["dot"]
        low, _mid, high = run["latency_ratio_rounds"]
        add(
            f"| {scenario_name(run)} | {run['workers']} | {ms(par['median_ms'])} / {ms(par['p99_ms'])} | "
            f"{ms(dot['median_ms'])} / {ms(dot['p99_ms'])} | {run['latency_ratio']:.2f} "
            f"[{low:.2f}{DASH}{high:.2f}] | {fmt(par['throughput'])} | {fmt(dot['throughput'])} | "
            f"{run['throughput_ratio']:.2f} | {ms(par['cpu_median_ms'])} / {ms(dot['cpu_median_ms'])} | "
            f"{par['queries']:g} / {dot['queries']:g} | {par['n']} |"
        )
    add("")


def target_ratio(run: dict[str, Any]) -> str:
    """The figure a run's target judges, as the Targets table reads it."""
    _met, ratio, _limit, _what = verdict(run)
    return f"{TIMES}{ratio:.2f}"


def write_audit_off(add: Any, report: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    part = report.get("audit_off")
    if not part:
        return
    off_runs = audit_off_runs(report)
    add("## Without the audit trail")
    add("")
    write_part_stamp(add, part, "audit-off")
    add("")
    add(
        "The same pairs, sizes, client threads and alternation as in the tables above, on gunicorn "
        'servers started with `OAUTH2_PAR["AUDIT_TRAIL"] = False` (`BENCH_AUDIT_TRAIL=0` for '
        "`bench/settings.py`); nothing else differs. Plain secrets and the consent page run with the "
        "verified-secret cache off, hashed secrets with it on only: with it off, PBKDF2 takes about "
        "190 ms on both sides and hides everything else."
    )
    add("")
    add(
        "**What the audit trail writes.** With `AUDIT_TRAIL` on (the app's default, and every other "
        "table on this page), a push writes an `AuditChain` row and its `pushed` `AuditEvent`; the "
        "consent page a `consent_shown` event; the consent POST the `decided`, `code_issued` and "
        "`redeemed` events, the chain's outcome and the code's `GrantedAuthorization` row. With "
        "`GrantedAuthorizationMixin` in DOT's validator the code exchange adds one read and two writes "
        "(the token's row, `token_issued`): at most 10 writes and 1 read per login, as the README's "
        "*The audit chain: stored rows* states and `tests/test_query_budget.py` enforces. The token "
        "endpoint here keeps DOT's own validator, so its chains end with the code; classic requests "
        "write no chain. Per step, 1 worker, plain secret (median worker CPU and SQL statements, "
        "savepoints included; on → off, from two runs, so the CPU figures carry the noise between them):"
    )
    add("")
    add("| database | login | push | consent page | consent POST | code exchange | total |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    names = ("push", "authorize", "consent", "exchange")
    for database in DATABASE_NAMES:
        pick = [
            run
            for run in runs
            if run["database"] == database and run["key"] == "login-plain" and run["workers"] == 1
        ]
        pick_off = [
            run
            for run in off_runs
            if run["database"] == database and run["key"] == "login-plain" and run["workers"] == 1
        ]
        if not (pick and pick_off):
            continue
        for side in ("par", "dot"):
            on = {step["name"]: step for step in pick[0][side]["steps"]}
            off = {step["name"]: step for step in pick_off[0][side]["steps"]}
            cells = []
            for name in names:
                if name not in on or name not in off:
                    cells.append("—")
                    continue
                cells.append(
                    f"{ms(on[name]['cpu_median_ms'])} → {ms(off[name]['cpu_median_ms'])} ms, "
                    f"{on[name]['queries']:g} → {off[name]['queries']:g} q"
                )
            totals = [
                (
                    sum(step["cpu_median_ms"] for step in steps.values()),
                    sum(step["queries"] for step in steps.values()),
                )
                for steps in (on, off)
            ]
            add(
                f"| {DATABASE_NAMES[database]} | {pick[0][side]['label']} | "
                + " | ".join(cells)
                + f" | {ms(totals[0][0])} → {ms(totals[1][0])} ms, {totals[0][1]:g} → {totals[1][1]:g} q |"
            )
    add("")
    if not off_runs:
        add("Nothing measured.")
        add("")
        return
    on_by_config = {(run["database"], run["key"], run["cache"], run["workers"]): run for run in runs}
    add(
        "The figure each target judges (PAR / DOT: throughput for client authentication, median "
        "latency otherwise), with the audit trail on (the tables above) and off (this run):"
    )
    add("")
    add("| database | scenario | workers | audit trail on | audit trail off |")
    add("| --- | --- | --- | --- | --- |")
    for run in off_runs:
        on_run = on_by_config.get((run["database"], run["key"], run["cache"], run["workers"]))
        add(
            f"| {DATABASE_NAMES[run['database']]} | {scenario_name(run)} | {run['workers']} | "
            f"{target_ratio(on_run) if on_run else '—'} | {target_ratio(run)} |"
        )
    add("")
    for database in DATABASE_NAMES:
        chosen = [run for run in off_runs if run["database"] == database]
        if not chosen:
            continue
        add(f"### {DATABASE_NAMES[database]}: every configuration, audit trail off")
        add("")
        write_runs_table(add, chosen)
    write_load_and_notes(add, part)


def write_signed(add: Any, report: dict[str, Any]) -> None:
    signed = report.get("signed_push")
    if not signed:
        return
    runs = signed_runs(report)
    sizes = signed["sizes"]
    add("## Signed pushes: `private_key_jwt` and a signed request object")
    add("")
    write_part_stamp(add, signed, "signed-push")
    add("")
    add(
        "A FAPI 2.0-style client, `bench-signed` (`token_endpoint_auth_method` `private_key_jwt`, "
        "*Require signed request object* on, an EC P-256 and an RSA 2048 public key in its JWK Set, "
        "registered where the installed DOT reads client keys), pushes a fresh authorization request "
        "inside a request object signed with PS256 (RSA key), authenticated by a client assertion "
        "signed with ES256 (EC key), each token with a `jti` of its own and the issuer as audience. "
        "On the same gunicorn server and worker count, in alternated batches (A B, B A, …: "
        f"{sizes['rounds']} rounds of {sizes['single']} pushes per worker, after "
        f"{sizes['warmup']} per worker to warm up), it is compared with the `client_secret_basic` "
        "push of the tables above: secret stored plain (`bench-code-plain`), or hashed with PBKDF2 "
        "and found in the warm verified-secret cache (`demo-rp`). The server runs with the "
        "verified-secret cache on, in Redis, which the jti store needs too (every worker must see "
        "every `jti`). The load client signs a batch's pushes before its clock starts, so the "
        "client's signing (last column) does not count against the server's throughput."
    )
    add("")
    add(
        "**Round trips.** The gunicorn worker counts its own Redis round trips (`bench/roundtrips.py`: "
        "a connection class for redis-py that counts each command or pipeline sent) and reports "
        "them for each request beside its SQL statements; a round trip whose command names a key "
        "of the jti store (`oauth_par:jti:`) is the jti store's. Counting in the worker, rather than "
        "with Redis's `INFO commandstats`, keeps the count exact while other processes use the "
        "same Redis."
    )
    add("")
    if not runs:
        add("Nothing measured.")
        add("")
        return
    add(
        f"| database | secret push | workers | signed /s | secret /s | {TIMES}throughput [rounds' IQR] | "
        f"worker CPU ms signed / secret | SQL signed / secret | Redis round trips signed / secret | "
        "of which jti store | client signing ms a push | n |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        par, dot = run["par"], run["dot"]
        low, _mid, high = run["throughput_ratio_rounds"]

        def trips(side: dict[str, Any], name: str) -> str:
            value = side.get(name)
            if value is None:
                return "not counted"
            low_count, high_count = side[f"{name}_min"], side[f"{name}_max"]
            spread = f" ({low_count}{DASH}{high_count})" if low_count != high_count else ""
            return f"{value:g}{spread}"

        add(
            f"| {DATABASE_NAMES[run['database']]} | {baseline_name(run)} | {run['workers']} | "
            f"{fmt(par['throughput'])} | {fmt(dot['throughput'])} | {run['throughput_ratio']:.2f} "
            f"[{low:.2f}{DASH}{high:.2f}] | {par['cpu_median_ms']:.2f} / {dot['cpu_median_ms']:.2f} | "
            f"{par['queries']:g} / {dot['queries']:g} | {trips(par, 'cache_trips')} / "
            f"{trips(dot, 'cache_trips')} | {trips(par, 'jti_trips')} | {run['signing_ms']:.2f} | "
            f"{par['n']} |"
        )
    add("")
    add(
        "Medians; a range in brackets after a count is its minimum and maximum over every request "
        "(a worker's first request also opens its Redis connection). The throughput ratio is the "
        "median over rounds of (signed pushes per second) / (secret pushes per second) in the same "
        "round; the client's signing is the median time to build one push (a fresh ES256 assertion "
        "and a fresh PS256 request object)."
    )
    add("")
    write_load_and_notes(add, signed)


def write_part_stamp(add: Any, part: dict[str, Any], only: str) -> None:
    """When, by what command and on which code a part measured, and how to measure it alone."""
    machine = part["machine"]
    took = f", in {part['elapsed_seconds'] / 60:.1f} minutes" if part.get("elapsed_seconds") else ""
    add(
        f"Measured on {machine['date']} by `{part['command'].strip()}`{took}"
        + (" (**quick run: few samples, figures indicative only**)" if part["quick"] else "")
        + f". Code: {machine['git']}. To measure this part alone again and update this section and "
        "the JSON in place (the rest of the page stays as it is):"
    )
    add("")
    add(f"    .venv/bin/python bench/run.py --only {only}")


def write_load_and_notes(add: Any, part: dict[str, Any]) -> None:
    """A part's load table (what else ran on the machine while it measured) and its notes."""
    windows = part.get("load_windows", [])
    if windows:
        add("| part | seconds | load before | load after | benchmark | PostgreSQL + Redis | others |")
        add("| --- | --- | --- | --- | --- | --- | --- |")
        for window in windows:
            add(
                f"| {window['what']} | {window['wall']:.0f} | {window['load_before']} | "
                f"{window['load_after']} | {window['own_share'] * 100:.0f} % | "
                f"{window['services_share'] * 100:.0f} % | {window['others_share'] * 100:.0f} % |"
            )
        add("")
    for note in part.get("notes", []):
        add(f"Note: {note}")
        add("")


def write_steps(add: Any, report: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    logins = [run for run in runs if run["key"] == "login-plain" and run["workers"] == 1]
    if not logins:
        return
    add("## Where a login's time goes (plain secret, 1 worker)")
    add("")
    add("Median server CPU time in ms per step, and SQL queries per step.")
    add("")
    add("| database | login | push | consent page | consent POST | code exchange | total |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    names = ("push", "authorize", "consent", "exchange")
    for run in logins:
        steps = {side: {step["name"]: step for step in run[side]["steps"]} for side in ("par", "dot")}
        totals = {side: sum(step["cpu_median_ms"] for step in steps[side].values()) for side in steps}
        for side in ("par", "dot"):
            cells = []
            for name in names:
                step = steps[side].get(name)
                cells.append(f"{ms(step['cpu_median_ms'])} ms, {step['queries']:g} q" if step else "—")
            queries = sum(step["queries"] for step in steps[side].values())
            add(
                f"| {DATABASE_NAMES[run['database']]} | {run[side]['label']} | "
                + " | ".join(cells)
                + f" | {ms(totals[side])} ms, {queries:g} q |"
            )
        cells = []
        for name in names:
            par, dot = steps["par"].get(name), steps["dot"].get(name)
            extra = (par["cpu_median_ms"] if par else 0.0) - (dot["cpu_median_ms"] if dot else 0.0)
            cells.append(f"{extra:+.1f} ms ({extra / totals['dot'] * 100:+.0f} %)")
        extra = totals["par"] - totals["dot"]
        add(
            f"| {DATABASE_NAMES[run['database']]} | *PAR minus classic (share of a classic login)* | "
            + " | ".join(cells)
            + f" | {extra:+.1f} ms ({extra / totals['dot'] * 100:+.0f} %) |"
        )
    add("")
    add(
        "Per-step medians do not add up exactly to the median of whole logins. The classic "
        "side runs with django-oauth-par installed, so its authorization requests include the "
        "middleware's one query deciding whether the client must use PAR (`par_required`)."
    )
    add("")
    profiles = report.get("profiles", {})
    if profiles:
        # Named, not linked: the files are not committed, and a link to them would break the
        # documentation build (mkdocs --strict).
        names = " and ".join(f"`{name}`" for name in profiles.values())
        add(
            "In-process profiles of both logins (Django's test client, no HTTP; every step's SQL "
            f"and its costliest functions): {names}, made by `bench/run.py --profile` with "
            "`python -m bench.profile_steps`. They are written beside this report and not committed: "
            "run that command to see them."
        )
        add("")


def write_warm_cold(add: Any, report: dict[str, Any]) -> None:
    results = report.get("warm_cold")
    if not results:
        return
    add("## Verified-secret cache: warm against cold")
    add("")
    add(
        "In-process (`python -m bench.prepare warmcold`): the validator's `_check_secret` with "
        "`VerifiedSecretCacheMixin`, and a whole client authentication as DOT's token endpoint "
        "does it (`authenticate_client` with a Basic header: the client's row from the database, "
        "then the secret). *Cold*: the stored hash was never verified (a fresh salt each time), so "
        "PBKDF2 runs; *warm*: a cache hit (one HMAC, one cache read). Medians."
    )
    add("")
    add(f"| cache | level | cold ms | warm ms | warm p99 ms | warm is faster by | ≥ 50{TIMES} |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    for result in results:
        for level, title in (("check", "secret check"), ("authenticate", "client authentication")):
            figures = result[level]
            add(
                f"| {result['backend']} | {title} | {figures['cold_us'] / 1e3:.0f} | "
                f"{figures['warm_us'] / 1e3:.3f} | {figures['warm_p99_us'] / 1e3:.2f} | "
                f"{figures['speedup']:,.0f}{TIMES} | {'yes' if figures['speedup'] >= 50 else 'no'} |"
            )
    add("")
    lowest = min(result["authenticate"]["speedup"] for result in results)
    add(
        f"Target: the warm path at least 50{TIMES} faster than the cold one per authentication: "
        f"**{'met' if lowest >= 50 else 'not met'}** (lowest {lowest:,.0f}{TIMES}, a whole client "
        "authentication with Redis)."
    )
    add("")
    served = {
        (run["database"], run["cache"]): run
        for run in report["runs"]
        if run["key"] == "auth-hashed" and run["workers"] == 1
    }
    for database in report["databases"]:
        cold, warm = served.get((database, "off")), served.get((database, "redis"))
        if cold and warm:
            add(
                f"Over HTTP ({DATABASE_NAMES[database]}, 1 worker), a push with a hashed secret takes "
                f"{ms(cold['par']['median_ms'])} ms cold and {ms(warm['par']['median_ms'])} ms warm "
                f"({TIMES}{cold['par']['median_ms'] / warm['par']['median_ms']:.0f}); DOT's token endpoint "
                f"{ms(cold['dot']['median_ms'])} ms and {ms(warm['dot']['median_ms'])} ms. (Over HTTP "
                "the warm figure is mostly the request itself, so the ratio is smaller.)"
            )
            add("")


def write_scale(add: Any, report: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    add("## Scale notes")
    add("")
    for database in ("postgres", "sqlite"):
        pushes = [run for run in runs if run["key"] == "auth-plain" and run["database"] == database]
        if not pushes:
            continue
        add(
            f"**Pushes per second on {DATABASE_NAMES[database]}** (plain secret, as many client "
            "threads as workers; the machine has "
            f"{report['machine']['cores']} cores shared with the load generator and the database):"
        )
        add("")
        add(
            "| workers | pushes/s | per worker | worker CPU per push | tokens/s (client_credentials) "
            "| per worker | worker CPU per token | others' CPU share meanwhile |"
        )
        add("| --- | --- | --- | --- | --- | --- | --- | --- |")
        windows = {window["what"]: window for window in report.get("load_windows", [])}
        for run in pushes:
            workers = run["workers"]
            window = windows.get(f"{database}, {workers_text(workers)}, secret cache off")
            others = f"{window['others_share'] * 100:.0f} %" if window else "?"
            add(
                f"| {workers} | {fmt(run['par']['throughput'])} | "
                f"{fmt(run['par']['throughput'] / workers)} | {run['par']['cpu_median_ms']:.2f} ms | "
                f"{fmt(run['dot']['throughput'])} | {fmt(run['dot']['throughput'] / workers)} | "
                f"{run['dot']['cpu_median_ms']:.2f} ms | {others} |"
            )
        add("")
        add(
            "Two cores are shared by the workers, the load generator (one Python thread per "
            "worker, closed loop: a worker idles while its client thread handles the answer and "
            "prepares the next request, so more workers than cores can still raise the total), the "
            "database and other people's processes. The totals of different rows also move with "
            "the load from elsewhere (last column; the rows ran minutes apart): compare push and "
            "token within a row, measured in alternation. The worker CPU per push bounds what one "
            "fully busy core could serve (1000 / ms pushes per second), database time excluded."
        )
        add("")
    cleanup = report.get("cleanup")
    if cleanup:
        add(
            f"**Cleanup.** `manage.py clearpushedrequests` (default batch size 5000) on "
            f"{DATABASE_NAMES[cleanup['database']]}, after {cleanup['rows']:,} expired rows were "
            f"bulk-inserted with one SQL statement ({cleanup['insert_seconds']:.1f} s): "
            f"{cleanup['command_seconds']:.1f} s for the command, of which about "
            f"{cleanup['startup_seconds']:.1f} s is start-up (the same command on an empty table), so "
            f"**{cleanup['rows_per_second']:,.0f} rows deleted per second**. It printed: "
            f"“{cleanup['output']}”; {cleanup['rows_after']:,} rows (unexpired, from the timed runs) "
            "were left."
        )
        add("")


def write_load(add: Any, report: dict[str, Any]) -> None:
    add("## Load during the run")
    add("")
    add(
        "Other people's processes share this machine. For each part of the run: the load "
        "average before and after, and how the machine's CPU (both cores, 100 %) was shared "
        "between this benchmark (the script, its gunicorn servers and helper commands), the "
        "PostgreSQL and Redis servers (which may also be serving others), and everything else."
    )
    add("")
    add("| part | seconds | load before | load after | benchmark | PostgreSQL + Redis | others |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    for window in report["load_windows"]:
        add(
            f"| {window['what']} | {window['wall']:.0f} | {window['load_before']} | "
            f"{window['load_after']} | {window['own_share'] * 100:.0f} % | "
            f"{window['services_share'] * 100:.0f} % | {window['others_share'] * 100:.0f} % |"
        )
    for note in report.get("notes", []):
        add(f"\nNote: {note}")
    add("")


# The chart ---------------------------------------------------------------------------------------


def draw_chart(report: dict[str, Any], runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    ones = [run for run in runs if run["workers"] == 1]
    labels = list(dict.fromkeys(scenario_name(run) for run in sorted_runs(ones)))
    databases = [name for name in DATABASE_NAMES if any(run["database"] == name for run in ones)]
    colours = {"sqlite": "#4C72B0", "postgres": "#DD8452"}

    figure, (left, right) = plt.subplots(
        1, 2, figsize=(14, 0.55 * len(labels) + 2.8), gridspec_kw={"width_ratios": [1.35, 1]}
    )
    height = 0.8 / max(1, len(databases))
    values = []
    for index, database in enumerate(databases):
        for row, label in enumerate(labels):
            run = next((r for r in ones if r["database"] == database and scenario_name(r) == label), None)
            if run is None:
                continue
            met = verdict(run)[0]
            y = row + (index - (len(databases) - 1) / 2) * height
            value = cost(run)
            values.append(value)
            left.barh(
                y,
                value,
                height=height * 0.9,
                color=colours[database],
                edgecolor="black" if not met else colours[database],
                hatch="//" if not met else None,
            )
            par, dot = run["par"]["median_ms"], run["dot"]["median_ms"]
            limit = 1.0 if run["target"] == "throughput" else LATENCY_LIMITS[run["target"]]
            left.text(
                max(value, limit) + 0.04,
                y,
                f"{TIMES}{value:.2f}  ({ms(par)} vs {ms(dot)} ms)",
                va="center",
                fontsize=8,
            )
    for row, label in enumerate(labels):
        run = next(r for r in ones if scenario_name(r) == label)
        limit = 1.0 if run["target"] == "throughput" else LATENCY_LIMITS[run["target"]]
        left.plot([limit, limit], [row - 0.45, row + 0.45], color="black", linewidth=2.5, zorder=3)
    left.axvline(1.0, color="grey", linewidth=0.8, linestyle=":", zorder=0)
    left.set_yticks(range(len(labels)), labels)
    left.invert_yaxis()
    left.set_xlabel(
        "PAR time per operation / DOT's (1 worker; client auth: inverse throughput ratio). Lower is better."
    )
    left.set_title(
        "What PAR costs relative to DOT's equivalent\n"
        "black tick: the target's limit; hatched: target missed; in brackets: median latencies"
    )
    handles = [Patch(color=colours[database], label=DATABASE_NAMES[database]) for database in databases]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="target missed"))
    left.legend(handles=handles, loc="upper right")
    left.set_xlim(0, max(2.6, max(values, default=1.0) * 1.45))

    # Right: throughput against workers, push and token (plain secret), per database.
    for database in databases:
        pushes = [run for run in runs if run["key"] == "auth-plain" and run["database"] == database]
        if not pushes:
            continue
        workers = [run["workers"] for run in pushes]
        right.plot(
            workers,
            [run["par"]["throughput"] for run in pushes],
            marker="o",
            color=colours[database],
            label=f"PAR push, {DATABASE_NAMES[database]}",
        )
        right.plot(
            workers,
            [run["dot"]["throughput"] for run in pushes],
            marker="s",
            linestyle="--",
            color=colours[database],
            label=f"DOT token (client_credentials), {DATABASE_NAMES[database]}",
        )
    right.set_xlabel("gunicorn sync workers (2 CPU cores)")
    right.set_ylabel("per second (median over rounds)")
    right.set_title("Pushes and tokens per second, plain client secret\n(as many client threads as workers)")
    right.set_xticks(sorted({run["workers"] for run in runs}))
    right.set_ylim(bottom=0)
    right.grid(alpha=0.3)
    right.legend(fontsize=8, loc="lower left")
    stamp = report["machine"]["date"] + (" — QUICK RUN" if report["quick"] else "")
    figure.suptitle(f"django-oauth-par against django-oauth-toolkit — {stamp}", fontsize=12)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
