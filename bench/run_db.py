"""One database's share of the benchmark: seed, measure in-process, measure over HTTP, write a JSON result.

    python -m bench.run_db --db sqlite --preset small --work-dir DIR --out result.json

For PostgreSQL, DATABASE_URL must name an empty database (bench/__main__.py runs this module under
.ci/with-postgres, which starts a throwaway cluster and always stops it). Every number is measured side by
side with the bare Flask endpoint in the same process or under the same gunicorn settings.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import sqlite3
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench import environment

CAPACITY_CONNECTIONS = (1, 2, 4, 8, 16, 32, 64)
POLL_INTERVAL_SECONDS = 2.0    # each open editor asks "anything changed?" this often (templates/_poller.html)
CAPACITY_MEDIAN_MS = 20.0
LOAD_CONNECTIONS = 8
WARM_UP_SECONDS = 2.0
PDF_CONNECTIONS = 2


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def analyze(app) -> None:
    """PostgreSQL: gather the planner's statistics now, as autovacuum would soon after such a load in
    production; without them the fresh cluster plans the dashboards' joins as if the tables were empty."""
    from sqlalchemy import text

    from portal.extensions import db
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()


def in_process_all(app, fixtures, calls: int, time_cap: float, keys) -> dict:
    from bench import endpoints, inprocess
    from bench.bare import app as bare_app
    from bench.floor import create_floor_app
    from portal.extensions import db

    with app.app_context():
        engine = db.engine
    counter = inprocess.StatementCounter(engine)
    transport = endpoints.InProcessTransport(app)

    def sign_in_as(email):
        return endpoints.sign_in(transport, email, fixtures.password)

    results: dict = {"bare_before": asdict(inprocess.measure(bare_app, endpoints.bare_endpoint(), calls, time_cap))}
    weights = {}
    try:
        floor_app = create_floor_app()
        for key in endpoints.FLOOR_KEYS:
            endpoint = endpoints.floor_endpoint(key, fixtures, sign_in_as)
            results[key] = asdict(inprocess.measure(floor_app, endpoint, calls, time_cap, counter))
            results[key]["label"] = endpoint.label
            log(f"in-process {key}: median {results[key]['median_ms']:.3f} ms")
        for key in keys:
            endpoint = endpoints.build(key, app, fixtures, sign_in_as)
            results[key] = asdict(inprocess.measure(app, endpoint, calls, time_cap, counter))
            results[key]["label"] = endpoint.label
            if endpoint.full_page:
                weights[key] = inprocess.page_weight(app, endpoint)
            log(f"in-process {key}: median {results[key]['median_ms']:.3f} ms over {results[key]['calls']} calls, "
                f"{results[key]['sql_per_request']:g} SQL")
    finally:
        counter.close()
    results["bare_after"] = asdict(inprocess.measure(bare_app, endpoints.bare_endpoint(), calls, time_cap))
    return {"endpoints": results, "page_weight": weights}


def pdf_pages(app, fixtures) -> int:
    """How many pages the benchmarked PDF has (the target is about an agreement of three pages)."""
    import pypdf

    from bench import endpoints
    transport = endpoints.InProcessTransport(app)
    who = endpoints.sign_in(transport, fixtures.pdf_email, fixtures.password)
    endpoint = endpoints.build("pdf", app, fixtures, lambda _email: who)
    request = endpoint.requests[0]
    status, _cookies, body = transport.send(request.method, request.path, request.headers)
    if status != 200:
        raise RuntimeError(f"PDF answered {status}")
    return len(pypdf.PdfReader(io.BytesIO(body)).pages)


def http_all(app, fixtures, work_env: dict, seconds: float, workers: int, keys, capacity_seconds: float) -> dict:
    from bench import endpoints, floor, load

    results: dict = {"workers": workers, "worker_class": "sync", "wrk": load.wrk_version(), "endpoints": {}}
    with load.gunicorn("wsgi:app", work_env, workers, "portal", "/auth/sign-in") as portal, \
            load.gunicorn("bench.bare:app", work_env, workers, "bare") as bare, \
            load.gunicorn("bench.floor:create_floor_app()", work_env, workers, "floor",
                          floor.SIGNED_OUT_PATH) as floor_server:
        transport = endpoints.HttpTransport(load.HOST, portal.port)

        def sign_in_as(email):
            return endpoints.sign_in(transport, email, fixtures.password)

        editors = len(fixtures.editors)
        bare_endpoint = endpoints.bare_endpoint()
        load.run_wrk(bare, bare_endpoint, WARM_UP_SECONDS, LOAD_CONNECTIONS)
        results["bare_before"] = asdict(load.run_wrk(bare, bare_endpoint, seconds, LOAD_CONNECTIONS))
        log(f"http bare: {results['bare_before']['rps']:.0f} req/s")
        for key in endpoints.FLOOR_KEYS:
            endpoint = endpoints.floor_endpoint(key, fixtures, sign_in_as)
            load.run_wrk(floor_server, endpoint, WARM_UP_SECONDS, LOAD_CONNECTIONS)
            result = asdict(load.run_wrk(floor_server, endpoint, seconds, LOAD_CONNECTIONS))
            result["label"] = endpoint.label
            results["endpoints"][key] = result
            log(f"http {key}: {result['rps']:.0f} req/s, median {result['p50_ms']:.1f} ms")
        for key in keys:
            endpoint = endpoints.build(key, app, fixtures, sign_in_as, editors=editors)
            connections = PDF_CONNECTIONS if key == "pdf" else LOAD_CONNECTIONS
            # Every worker compiles its templates and fills its caches on first use: not part of the figure.
            warm = load.run_wrk(portal, endpoint, WARM_UP_SECONDS, connections)
            # Requests still in flight when wrk stopped keep workers busy: let them finish before measuring.
            time.sleep(min(15.0, warm.max_ms / 1000 + 0.5) if warm.requests else 10.0)
            endpoints.refresh(endpoint, app)
            result = asdict(load.run_wrk(portal, endpoint, seconds, connections))
            result["label"] = endpoint.label
            results["endpoints"][key] = result
            log(f"http {key}: {result['rps']:.0f} req/s, median {result['p50_ms']:.1f} ms"
                + (f", {result['unexpected']} unexpected answers ({result['unexpected_status']})"
                   if result["unexpected"] else ""))
        results["bare_after"] = asdict(load.run_wrk(bare, bare_endpoint, seconds, LOAD_CONNECTIONS))
        log(f"http bare again: {results['bare_after']['rps']:.0f} req/s")

        # Live co-editing capacity: the "nothing changed" poll of every hot editor, with more and more
        # connections; the highest throughput whose median stays under 20 ms, times the poll interval, is the
        # number of open editors the machine carries.
        poll = endpoints.build("poll_unchanged", app, fixtures, sign_in_as, editors=editors)
        time.sleep(1.0)  # the last runs' queued requests
        endpoints.refresh(poll, app)
        sweep = []
        for connections in CAPACITY_CONNECTIONS:
            result = asdict(load.run_wrk(portal, poll, capacity_seconds, connections))
            sweep.append(result)
            log(f"capacity: {connections} connections -> {result['rps']:.0f} polls/s, median {result['p50_ms']:.1f} ms")
        results["capacity"] = sweep

        # Does rendering a PDF hold up other requests? The poll alone, then the same poll while PDFs render.
        pdf = endpoints.build("pdf", app, fixtures, sign_in_as)
        poll_alone = load.run_wrk(portal, poll, capacity_seconds, 4)
        pdf_load, poll_during = load.run_concurrently(portal, pdf, PDF_CONNECTIONS, poll, 4, seconds)
        results["pdf_concurrency"] = {"poll_alone": asdict(poll_alone), "pdf": asdict(pdf_load),
                                      "poll_during_pdf": asdict(poll_during)}
        log(f"pdf concurrency: poll median {poll_during.p50_ms:.1f} ms / p99 {poll_during.p99_ms:.1f} ms / "
            f"max {poll_during.max_ms:.1f} ms while PDFs take {pdf_load.p50_ms:.0f} ms")
    return results


def database_version(app) -> str:
    from portal.extensions import db
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            version = db.session.execute(db.text("SHOW server_version")).scalar()
            db.session.remove()
            return f"PostgreSQL {version}"
    return f"SQLite {sqlite3.sqlite_version}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--growth", action="store_true",
                        help="also seed the small preset first and measure it in-process (the flat-growth check)")
    parser.add_argument("--calls", type=int, default=2000, help="in-process calls per endpoint")
    parser.add_argument("--time-cap", type=float, default=10.0, help="in-process seconds per endpoint at most")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk seconds per endpoint")
    parser.add_argument("--capacity-seconds", type=float, default=5.0, help="wrk seconds per capacity step")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: 2 x cores)")
    parser.add_argument("--no-http", action="store_true", help="in-process only")
    parser.add_argument("--endpoints", default="", help="comma-separated subset of endpoint keys")
    args = parser.parse_args(argv)
    # A TERM (make or CI stopping us) must still run the cleanups: stop gunicorn, remove the temp directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    args.work_dir.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") if args.db == "postgres" else None
    if args.db == "postgres" and not database_url:
        parser.error("--db postgres needs DATABASE_URL (run it under .ci/with-postgres)")
    work_env = environment.portal_environment(args.work_dir, database_url)
    environment.apply(work_env)

    from bench import endpoints, load
    from bench.seed import PRESETS, seed

    keys = [key for key in (args.endpoints.split(",") if args.endpoints else endpoints.ENDPOINT_KEYS) if key]
    result: dict = {"db": args.db, "preset": args.preset, "python": platform.python_version()}
    if args.growth:
        app = environment.create_migrated_app()
        with app.app_context():
            small = seed(PRESETS["small"])
            analyze(app)
        log("measuring the small preset in-process (flat-growth baseline)")
        result["growth_baseline"] = in_process_all(app, small, args.calls, args.time_cap, keys)["endpoints"]
        environment.reset_database(app)

    app = environment.create_migrated_app()
    result["db_version"] = database_version(app)
    started = time.perf_counter()
    with app.app_context():
        fixtures = seed(PRESETS[args.preset])
        analyze(app)
    result["seed_seconds"] = round(time.perf_counter() - started, 1)
    result["counts"] = fixtures.counts
    log(f"seeded {args.preset} in {result['seed_seconds']} s: {fixtures.counts}")

    measured = in_process_all(app, fixtures, args.calls, args.time_cap, keys)
    result["in_process"] = measured["endpoints"]
    result["page_weight"] = measured["page_weight"]
    if "pdf" in keys:
        result["pdf_pages"] = pdf_pages(app, fixtures)
    if not args.no_http:
        load.wrk_binary()
        workers = args.workers or load.default_workers()
        result["http"] = http_all(app, fixtures, work_env, args.seconds, workers, keys, args.capacity_seconds)
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
