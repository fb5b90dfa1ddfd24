"""gunicorn started as the README says (with gunicorn.conf.py): one format for its lines and the app's, an access
line per request, and the request id on the app line, on the access line and in the response header."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import TEST_CONFIG
from tests.live_portal import PROJECT_ROOT, free_port

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \[\d+\] (?P<logger>\S+) rid=(?P<rid>\S+) (?P<msg>.*)$")


def _get(url: str, headers: dict | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_gunicorn_logs_one_format_with_the_request_id(tmp_path: Path):
    """With the shipped gunicorn.conf.py, does a request's app line and access line carry the id the answer
    sends in X-Request-ID, every line in the one format, and does a client's own id stay out?"""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("MAIL_SERVER", "DATABASE_URL")}
    env.update({
        # A database without the schema: /readyz says "not ready" and the app logs why (an app line).
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "SECRET_KEY": TEST_CONFIG["SECRET_KEY"], "DATA_KEYS": TEST_CONFIG["DATA_KEYS"],
        "PORTAL_INSTANCE_DIR": str(tmp_path), "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
    })
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                   cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(base + "/healthz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        status, headers, body = _get(base + "/readyz?secret=query-value",
                                     headers={"X-Request-ID": "forged-by-client"})
        assert (status, body) == (503, "not ready\n")
        request_id = headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
        # A one-time link on a database without its tables: the 503 page, and the token in no line.
        assert _get(base + "/auth/set-password/tok-LIVE-secret")[0] == 503
        # Spelled with a double slash (werkzeug redirects it, repeating the token in the Location).
        _get(base + "/auth//set-password/tok-LIVE-double")
    finally:
        process.terminate()
        process.wait(timeout=30)

    lines = log_path.read_text().splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), [line for line, match in zip(lines, parsed) if not match]
    mine = [match for match in parsed if match["rid"] == request_id]
    assert {match["logger"] for match in mine} == {"portal", "gunicorn.access"}, lines
    access = next(match for match in mine if match["logger"] == "gunicorn.access")
    assert '"GET /readyz" 503' in access["msg"]
    assert "query-value" not in log_path.read_text()  # the query string stays out of the log
    assert "forged-by-client" not in log_path.read_text()
    assert "tok-LIVE-secret" not in log_path.read_text() and "tok-LIVE-double" not in log_path.read_text()
    assert any('"GET /auth/set-password/[token]" 503' in match["msg"] for match in parsed)
    assert any(match["logger"] == "gunicorn.error" for match in parsed)  # gunicorn's own lines, same format
