"""Run the whole benchmark: SQLite, then PostgreSQL in a throwaway cluster, then the tables and the report.

    python -m bench --preset small                           # make bench-small
    python -m bench --preset full --report docs/performance.md   # make bench

Each database runs in its own process (bench/run_db.py); PostgreSQL's under .ci/with-postgres, which starts
the cluster and always stops it. The seeded databases live in a temporary directory removed at the end.
"""
from __future__ import annotations

import argparse
import json
import shlex
import signal
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import report
from bench.environment import PROJECT_ROOT


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=("small", "full"), default="small")
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--report", type=Path, help="write the results there (docs/performance.md)")
    parser.add_argument("--command", default="", help="the command shown in the report")
    parser.add_argument("--results-dir", type=Path, help="also keep each database's raw results (JSON) there")
    parser.add_argument("--seconds", type=float, help="wrk seconds per endpoint")
    parser.add_argument("--calls", type=int, help="in-process calls per endpoint")
    parser.add_argument("--no-http", action="store_true", help="in-process only")
    args = parser.parse_args(argv)
    # A TERM (make or CI stopping us) must still run the cleanups: stop gunicorn, remove the temp directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    databases = [name.strip() for name in args.db.split(",") if name.strip()]
    extra = []
    if args.seconds or args.preset == "small":
        extra += ["--seconds", str(args.seconds or 5)]
    if args.calls:
        extra += ["--calls", str(args.calls)]
    if args.no_http:
        extra.append("--no-http")
    if args.preset == "full":
        extra.append("--growth")  # the flat-growth check: the small preset first, in the same run
    else:  # a few minutes in all: shorter load runs, fewer in-process seconds for a slow page
        extra += ["--capacity-seconds", "3", "--time-cap", "4"]

    started = report.now()
    work = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    results = []
    try:
        for database in databases:
            out = work / f"{database}.json"
            command = [sys.executable, "-m", "bench.run_db", "--db", database, "--preset", args.preset,
                       "--work-dir", str(work / database), "--out", str(out), *extra]
            if database == "postgres":
                command = [str(PROJECT_ROOT / ".ci" / "with-postgres"), *command]
            print(f"bench: {shlex.join(command)}", file=sys.stderr, flush=True)
            completed = subprocess.run(command, cwd=PROJECT_ROOT)
            if completed.returncode != 0:
                print(f"bench: the {database} run failed ({completed.returncode})", file=sys.stderr)
                return completed.returncode
            results.append(json.loads(out.read_text()))
            if args.results_dir:
                args.results_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(out, args.results_dir / out.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    finished = report.now()
    print(report.console(results))
    if args.report:
        command = args.command or shlex.join(["python", "-m", "bench", *(argv if argv is not None else sys.argv[1:])])
        previous = args.report.read_text() if args.report.exists() else None
        args.report.write_text(report.render(results, command, started, finished, previous))
        print(f"bench: wrote {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
