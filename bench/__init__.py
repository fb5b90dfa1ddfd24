"""The performance benchmark of issue 10 (docs/performance.md): seeding at realistic volume, in-process
measurement, and HTTP load through gunicorn and wrk, on SQLite and PostgreSQL. Run it with `make bench` or
`make bench-small`; `python -m bench --help` lists the knobs."""
