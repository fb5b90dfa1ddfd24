"""A PostgreSQL cluster of a test's own, in its temp dir, that the test may stop and start again (the database
outage tests). Built with the server binaries of Debian's postgresql package, as .ci/with-postgres does; run
as the unprivileged "postgres" user when the tests run as root (initdb refuses root)."""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.live_portal import free_port

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)


def server_binaries() -> Path | None:
    """As .ci/with-postgres looks: PG_BIN, then PostgreSQL 15, then the newest installed, then initdb on PATH."""
    newest_first = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True,
                          key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else -1)
    for candidate in (os.environ.get("PG_BIN"), *PG_BIN_DIRS, *newest_first):
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def require_server_binaries() -> Path:
    """The bin dir, or a skip that says why; in CI (PORTAL_REQUIRE_POSTGRES or PORTAL_REQUIRE_BROWSER set by
    .ci/run) a missing server is a failure instead."""
    found = server_binaries()
    reason = None
    if found is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql package"
    elif os.geteuid() == 0 and not _has_user("postgres"):
        reason = 'running as root without a "postgres" user to run the cluster (initdb refuses root)'
    if reason is not None:
        if os.environ.get("PORTAL_REQUIRE_POSTGRES") == "1" or os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class Cluster:
    def __init__(self, bin_dir: Path, root: Path):
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/portal"
        self._as_postgres = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        if self._as_postgres:
            command = ("runuser", "-u", "postgres", "--", *command)
        subprocess.run(command, check=True, cwd="/", capture_output=True, timeout=60)

    def create(self) -> None:
        if self._as_postgres:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.root, postgres.pw_uid, postgres.pw_gid)
        self._run(str(self.bin_dir / "initdb"), f"--pgdata={self.data}", "--username=postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        self._run("sh", "-c", f"printf \"listen_addresses = '127.0.0.1'\\nport = {self.port}\\n"
                              f"unix_socket_directories = '{self.root}'\\nfsync = off\\n\" >> {self.data}/postgresql.conf")
        self.start()
        self._run(str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "portal")

    def start(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextlib.contextmanager
def throwaway_cluster():
    """A started cluster with an empty database "portal"; stopped and deleted afterwards. Its directory is made
    under the system temp dir, not pytest's: the "postgres" user cannot enter root's private pytest dirs."""
    bin_dir = require_server_binaries()
    cluster = Cluster(bin_dir, Path(tempfile.mkdtemp(prefix="portal-pg-")))
    try:
        cluster.create()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
