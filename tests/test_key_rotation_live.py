"""Key rotation without downtime, as the README says (section "Confidential notes and sharing one note"):
keys in DATA_KEYS_FILE, the new key added first, gunicorn reloaded with `kill -HUP`, `flask rotate-keys`, the
old key removed, reloaded again; a real gunicorn on loopback with requests flowing the whole time."""
from __future__ import annotations

import base64
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from sqlalchemy import select

from portal.crypto import key_id_of
from portal.extensions import db
from portal.models import Note
from tests.conftest import TEST_CONFIG
from tests.factories import PASSWORD, make_note, make_pair, make_program, make_user
from tests.live_portal import PROJECT_ROOT, running_portal

WORKERS = 2
OLD_KEY = TEST_CONFIG["DATA_KEYS"]  # the suite's test1 key: the in-process app writes the first note with it
NEW_KEY = "new1:" + base64.urlsafe_b64encode(bytes([5]) * 32).decode()


class Browser:
    """A signed-in visitor over HTTP (cookies and the CSRF token kept, as a browser keeps them)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=60) as response:
            page = response.read().decode()
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
        self.token = found.group(1) if found else self.token
        return page

    def post(self, path: str, data: dict) -> int:
        body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        with self.opener.open(self.base_url + path, data=body, timeout=60) as response:
            return response.status


def worker_pids(master: int) -> set[int]:
    """gunicorn's workers: the processes whose parent is the master."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.add(int(entry.name))
    return pids


def reload_workers(master: int) -> None:
    """`kill -HUP` the master, then wait until every worker is a new one (the old ones finished and left)."""
    old = worker_pids(master)
    os.kill(master, signal.SIGHUP)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = worker_pids(master)
        if len(now) == WORKERS and not now & old:
            return
        time.sleep(0.1)
    raise AssertionError(f"the workers were not replaced: before {old}, now {worker_pids(master)}")


def test_keys_rotate_from_a_file_with_requests_flowing(tmp_path):
    """With the keys in DATA_KEYS_FILE: new key added first, HUP, rotate-keys, old key removed, HUP. Does every
    request made meanwhile succeed, is a note written after the first HUP under the new key, and do all notes
    read back once only the new key is left?"""
    key_file = tmp_path / "data_keys"
    key_file.write_text(OLD_KEY + "\n")
    os.chmod(key_file, 0o600)
    with running_portal(tmp_path, "rotation", workers=WORKERS,
                        environment={"DATA_KEYS": None, "DATA_KEYS_FILE": str(key_file)}) as portal:
        with portal.seed():
            mentor = make_user("rotating.mentor@example.org", name="Rotating Mentor")
            pair = make_pair(make_program(), mentor=mentor)
            make_note(pair, mentor, "Written under the old key")
            notes_path = f"/pairs/{pair.id}/notes"
        reader, writer = Browser(portal.url), Browser(portal.url)
        for browser in (reader, writer):
            browser.get("/auth/sign-in")
            browser.post("/auth/sign-in", {"email": "rotating.mentor@example.org", "password": PASSWORD})

        failures, served, stop = [], [0], threading.Event()

        def traffic():
            while not stop.is_set():
                try:
                    page = reader.get(notes_path)
                    if "Written under the old key" not in page:
                        failures.append("the old note was not shown")
                    served[0] += 1
                except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                    failures.append(repr(error))

        flowing = threading.Thread(target=traffic, daemon=True)
        flowing.start()
        try:
            master = portal.process.pid
            key_file.write_text(f"{NEW_KEY}\n{OLD_KEY}\n")  # 1. the new key first, the old one kept
            reload_workers(master)                           # 2. kill -HUP
            writer.get(notes_path)
            assert writer.post(notes_path, {"text": "Written under the new key"}) == 200
            rotate = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "rotate-keys"],  # 3.
                                    cwd=PROJECT_ROOT, env=portal.env, capture_output=True, text=True, timeout=120)
            assert rotate.returncode == 0, rotate.stderr
            assert "now under key new1" in rotate.stdout
            key_file.write_text(f"{NEW_KEY}\n")              # 4. the old key removed
            reload_workers(master)                           # 5. kill -HUP
            time.sleep(1)  # a few requests served by the workers that know the new key only
        finally:
            stop.set()
            flowing.join(timeout=90)
        assert failures == [] and served[0] > 10, (failures[:5], served[0], portal.log_tail())
        page = writer.get(notes_path)
        assert "Written under the old key" in page and "Written under the new key" in page
        with portal.seed():
            assert {key_id_of(body) for body in db.session.scalars(select(Note.body))} == {"new1"}
        assert portal.process.poll() is None, portal.log_tail()
