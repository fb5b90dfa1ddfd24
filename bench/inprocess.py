"""In-process measurement: the app called directly through its WSGI interface (no HTTP, no server), the
median of thousands of calls per endpoint, SQL statements per request and response bytes.

These machines pause whole (20-800 ms, several times a second), so a mean or a high percentile mostly
measures the host; the median of many calls repeats within a few percent and is the figure to track. The
bare Flask endpoint is measured the same way, before and after, as the ceiling the pages are compared with.
"""
from __future__ import annotations

import io
import re
import statistics
import time
from dataclasses import asdict, dataclass

from sqlalchemy import event
from werkzeug.test import EnvironBuilder

from bench.endpoints import Endpoint, Request

DEFAULT_CALLS = 2000
TIME_CAP_SECONDS = 20.0  # per endpoint: a slow page gets fewer calls (at least MIN_CALLS) rather than minutes
MIN_CALLS = 30
WARM_UP_CALLS = 20
_ASSET = re.compile(rb'(?:src|href)="(/static/[^"?#]+)')


class StatementCounter:
    """Counts the SQL statements the engine sends (BEGIN included, as the database sees it)."""

    def __init__(self, engine):
        from portal import rawsql

        self.engine = engine
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)
        rawsql.listen(self._seen)  # the poll's read, sent on the pooled connection directly

    def _seen(self, *_args, **_kwargs):
        self.count += 1

    def close(self):
        from portal import rawsql

        event.remove(self.engine, "before_cursor_execute", self._seen)
        rawsql.remove(self._seen)


@dataclass
class InProcessResult:
    key: str
    calls: int
    median_ms: float
    min_ms: float
    p90_ms: float
    sql_per_request: float
    sql_min: int
    sql_max: int
    response_bytes: int
    status: int


class _Caller:
    """Prepared WSGI environs for an endpoint's requests; each call gets a fresh copy and input stream."""

    def __init__(self, app, endpoint: Endpoint):
        self.app = app
        self.endpoint = endpoint
        self.environs = [self._environ(request) for request in endpoint.requests]
        self.turn = 0

    @staticmethod
    def _environ(request: Request) -> dict:
        return EnvironBuilder(path=request.path, method=request.method, headers=request.headers,
                              data=request.body or None).get_environ()

    def call(self) -> tuple[int, bytes, int]:
        index = self.turn % len(self.environs)
        request = self.endpoint.requests[index]
        environ = dict(self.environs[index])
        body = request.body
        if self.endpoint.autosaves:
            body = self.endpoint.autosaves[index].body(self.turn // len(self.environs))
            environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        self.turn += 1
        captured = []

        def start_response(status, headers, exc_info=None):
            captured.append(status)

        result = self.app(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status = int(captured[0].split()[0])
        if self.endpoint.autosaves:
            save = self.endpoint.autosaves[index]
            found = save.version_pattern.search(data)
            if found:
                save.version = int(found.group(1))
        return status, data, request.expect


def measure(app, endpoint: Endpoint, calls: int = DEFAULT_CALLS, time_cap: float = TIME_CAP_SECONDS,
            counter: StatementCounter | None = None) -> InProcessResult:
    caller = _Caller(app, endpoint)
    calls = endpoint.repeat or calls
    for _ in range(min(WARM_UP_CALLS, calls)):
        status, data, expected = caller.call()
        if status != expected:
            raise RuntimeError(f"{endpoint.key}: answered {status} instead of {expected}: {data[:400]!r}")
    timings, statements = [], []
    started = time.perf_counter()
    size = status = 0
    while len(timings) < calls and (len(timings) < MIN_CALLS or time.perf_counter() - started < time_cap):
        before = counter.count if counter else 0
        t0 = time.perf_counter_ns()
        status, data, expected = caller.call()
        timings.append((time.perf_counter_ns() - t0) / 1e6)
        statements.append((counter.count - before) if counter else 0)
        if status != expected:
            raise RuntimeError(f"{endpoint.key}: answered {status} instead of {expected}: {data[:400]!r}")
        size = len(data)
    timings.sort()
    return InProcessResult(
        key=endpoint.key, calls=len(timings), median_ms=statistics.median(timings), min_ms=timings[0],
        p90_ms=timings[int(len(timings) * 0.9) - 1 if len(timings) > 1 else 0],
        sql_per_request=statistics.median(statements), sql_min=min(statements), sql_max=max(statements),
        response_bytes=size, status=status)


def page_weight(app, endpoint: Endpoint) -> dict:
    """A full page's bytes plus every static asset it references (stylesheet, scripts, htmx, icon)."""
    caller = _Caller(app, endpoint)
    _status, data, _expected = caller.call()
    assets = {}
    for path in sorted(set(_ASSET.findall(data))):
        asset = _Caller(app, Endpoint("asset", "asset", [Request("GET", path.decode(), {})]))
        asset_status, asset_data, _ = asset.call()
        if asset_status == 200:
            assets[path.decode()] = len(asset_data)
    return {"page_bytes": len(data), "assets": assets, "total_bytes": len(data) + sum(assets.values())}


def as_dict(result: InProcessResult) -> dict:
    return asdict(result)
