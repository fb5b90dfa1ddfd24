"""HTTP load: gunicorn (sync workers, as `make serve` runs it) on a free loopback port, driven by wrk.

Every server this module starts is stopped again, whatever happens (context managers; the whole process
group is killed if gunicorn does not stop in time)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.endpoints import Endpoint, HttpTransport
from bench.environment import PROJECT_ROOT

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk" / "portal.lua"
HOST = "127.0.0.1"


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen


@contextmanager
def gunicorn(app_spec: str, environment: dict[str, str], workers: int, name: str, ready_path: str = "/"):
    """gunicorn serving `app_spec` with `workers` sync workers; yields once it answers `ready_path`."""
    port = free_port()
    binary = Path(sys.executable).with_name("gunicorn")
    command = [str(binary), "--workers", str(workers), "--worker-class", "sync", "--bind", f"{HOST}:{port}",
               "--log-level", "warning", "--timeout", "120", "--chdir", str(PROJECT_ROOT), app_spec]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**os.environ, **environment},
                               start_new_session=True)
    try:
        _wait_until_ready(process, port, ready_path, name)
        yield Server(name, port, process)
    finally:
        _stop(process)


def _wait_until_ready(process: subprocess.Popen, port: int, path: str, name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    transport = HttpTransport(HOST, port)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn ({name}) exited with status {process.returncode} while starting")
        try:
            status, _cookies, _body = transport.send("GET", path, {})
            if status < 500:
                # Every worker imports the app lazily: give them all a moment after the first answer.
                time.sleep(1.0)
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn ({name}) did not answer on port {port} within {timeout:.0f}s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:  # workers left behind by a master that died: the session's whole process group
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


# --- wrk ----------------------------------------------------------------------------------------------------

def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed (make bench installs it with apt-get)")
    return found


def wrk_version() -> str:
    result = subprocess.run([wrk_binary(), "-v"], capture_output=True, text=True)
    return (result.stdout + result.stderr).strip().splitlines()[0] if (result.stdout + result.stderr) else "wrk"


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def _lua_config(endpoint: Endpoint) -> str:
    lines = ["return {", f"  expect = {endpoint.requests[0].expect},", "  requests = {"]
    for request in endpoint.requests:
        headers = ", ".join(f"[{_lua_string(name)}] = {_lua_string(value)}" for name, value in request.headers.items())
        lines.append(f"    {{method = {_lua_string(request.method)}, path = {_lua_string(request.path)}, "
                     f"headers = {{{headers}}}, body = {_lua_string(request.body.decode())}}},")
    lines.append("  },")
    if endpoint.autosaves:
        lines.append("  autosave = {")
        for save in endpoint.autosaves:
            lines.append(f"    {{key = {_lua_string(save.field_key)}, input = {_lua_string(save.input_name)}, "
                         f"version = {save.version}, values = {{{_lua_string(save.values[0])}, "
                         f"{_lua_string(save.values[1])}}}}},")
        lines.append("  },")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass
class LoadResult:
    key: str
    connections: int
    threads: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    unexpected: int
    unexpected_status: str
    bytes_per_response: float


def run_wrk(server: Server, endpoint: Endpoint, seconds: float, connections: int, threads: int | None = None,
            ) -> LoadResult:
    """One wrk run against `server`; statuses other than the endpoint's expected one are counted."""
    if endpoint.autosaves:
        # One connection per thread, one thread per editor: each editor's saves follow one another.
        connections = threads = min(connections, len(endpoint.autosaves))
    threads = threads or min(2, connections)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as config:
        config.write(_lua_config(endpoint))
    try:
        command = [wrk_binary(), "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
                   "--timeout", "30s", "-s", str(LUA_SCRIPT), f"http://{HOST}:{server.port}"]
        result = subprocess.run(command, capture_output=True, text=True,
                                env={**os.environ, "BENCH_WRK_CONFIG": config.name}, timeout=seconds + 120)
    finally:
        os.unlink(config.name)
    line = next((line for line in result.stdout.splitlines() if line.startswith("BENCH-JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed for {endpoint.key} ({result.returncode}): {result.stdout}\n{result.stderr}")
    data = json.loads(line[len("BENCH-JSON "):])
    duration = data["duration_us"] / 1e6
    errors = sum(data[name] for name in ("errors_connect", "errors_read", "errors_write", "errors_timeout"))
    return LoadResult(
        key=endpoint.key, connections=connections, threads=threads, seconds=duration, requests=data["requests"],
        rps=data["requests"] / duration if duration else 0.0, p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000, p99_ms=data["p99_us"] / 1000, max_ms=data["max_us"] / 1000,
        errors=errors, unexpected=data["unexpected"], unexpected_status=data["unexpected_status"],
        bytes_per_response=data["bytes"] / data["requests"] if data["requests"] else 0.0)


def run_concurrently(server: Server, background: Endpoint, background_connections: int, foreground: Endpoint,
                     foreground_connections: int, seconds: float) -> tuple[LoadResult, LoadResult]:
    """`background` load (e.g. PDF downloads) for `seconds`, and `foreground` (e.g. the poll) measured inside
    that window, starting a moment later and ending a moment earlier."""
    outcome: dict[str, LoadResult | BaseException] = {}

    def load():
        try:
            outcome["background"] = run_wrk(server, background, seconds, background_connections,
                                            threads=min(background_connections, 2))
        except BaseException as error:  # reported below, in the caller's thread
            outcome["background"] = error

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    time.sleep(1.0)
    foreground_result = run_wrk(server, foreground, max(1.0, seconds - 2.0), foreground_connections)
    thread.join()
    if isinstance(outcome.get("background"), BaseException):
        raise outcome["background"]
    return outcome["background"], foreground_result
