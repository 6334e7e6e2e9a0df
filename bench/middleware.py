"""Per-request server time, SQL queries and Redis round trips, reported in response headers (bench only)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from bench import roundtrips

QUERIES_HEADER = "X-Bench-Queries"
SERVER_TIME_HEADER = "X-Bench-Server-Us"
SERVER_CPU_HEADER = "X-Bench-Server-Cpu-Us"
CACHE_TRIPS_HEADER = "X-Bench-Cache-Trips"
JTI_TRIPS_HEADER = "X-Bench-Jti-Trips"


class MeasureMiddleware:
    """Count the SQL statements Django sends (savepoints included) and time the middleware stack.

    Two times: wall clock, and the CPU time of the worker's thread (which other processes
    on the machine do not inflate; it leaves out the database server's and Redis's own CPU).

    It wraps every database connection with ``execute_wrapper`` for the duration of the
    request; the cost is one Python call per query, the same for both sides of a comparison.
    With ``BENCH_COUNT_CACHE_TRIPS`` (a Redis cache whose connections are
    :class:`bench.roundtrips.CountingConnection`), it also reports the request's Redis round
    trips, and those that carried a key of the app's ``jti`` store.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = 0

        def counter(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        wrapped = [connections[alias] for alias in connections]
        for connection in wrapped:
            connection.execute_wrappers.append(counter)
        roundtrips.reset()
        start, cpu_start = time.perf_counter(), time.thread_time()
        try:
            response = self.get_response(request)
        finally:
            elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
            for connection in wrapped:
                connection.execute_wrappers.remove(counter)
        response[QUERIES_HEADER] = str(count)
        response[SERVER_TIME_HEADER] = str(round(elapsed * 1e6))
        response[SERVER_CPU_HEADER] = str(round(cpu * 1e6))
        if getattr(settings, "BENCH_COUNT_CACHE_TRIPS", False):
            trips, jti_trips = roundtrips.counted()
            response[CACHE_TRIPS_HEADER] = str(trips)
            response[JTI_TRIPS_HEADER] = str(jti_trips)
        return response
