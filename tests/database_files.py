"""The suite's SQLite database as files on disk, for tests that look for text byte for byte."""
from __future__ import annotations

import glob
import re
import subprocess

from tests.conftest import TEST_CONFIG


def sqlite_files() -> list[str]:
    """The database file and its -wal, -shm or -journal files (none on PostgreSQL)."""
    uri = TEST_CONFIG["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite:///"):
        return []
    path = uri[len("sqlite:///"):]
    return [name for name in glob.glob(path + "*") if re.search(r"\.sqlite3(-wal|-shm|-journal)?$", name)]


def read_sqlite_files() -> dict[str, bytes]:
    """Each file of the suite's SQLite database, byte for byte, read by a child process.

    Not read here: closing a descriptor drops every POSIX lock this process holds on that file, SQLite's
    included. Another process that later closes the database (a `flask` command a test runs) would then take it
    for unused and delete the write-ahead log and its index under this process's connections."""
    return {name: subprocess.run(["cat", name], capture_output=True, check=True, timeout=60).stdout
            for name in sqlite_files()}
