"""Browser tests: Playwright drives Debian's Chromium against a live portal.

The live portal is gunicorn on a free loopback port with a fresh database of its own: a new SQLite file, or a
new database on the PostgreSQL server when the suite runs against PostgreSQL. The tests create their people and
programs through the factories in this process, on a second app bound to the same database, then do everything
else in the browser as a person would.

Nothing is downloaded at test time: the browser is the `chromium` Debian package's binary (CHROMIUM_PATH
overrides it) and axe-core is vendored under vendor/. When Chromium or Playwright is missing, these tests are
skipped on a developer machine (the summary says so and how to install it) and fail in CI
(PORTAL_REQUIRE_BROWSER=1, which .ci/run sets), so a broken browser set-up can never pass CI silently.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.extensions import db
from tests.factories import PASSWORD
from tests.live_portal import PROJECT_ROOT, LivePortal, running_portal
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    # We run as root in containers, where Chromium's sandbox cannot start.
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these, Chromium keeps trying to reach Google and the closed network refuses it many times a second.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE_VERSION = "4.14.1"
AXE_SOURCE_PATH = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOT_DIR = PROJECT_ROOT / "docs" / "screenshots"
INSTALL_HINT = ("install Chromium with `sudo apt-get install chromium` (Debian/Ubuntu) or point CHROMIUM_PATH at a "
                "Chromium binary, and run `make venv` for Playwright")
SKIP_PREFIX = "browser tests skipped"


def browser_required() -> bool:
    """CI must never pass with the browser tests skipped."""
    return os.environ.get("PORTAL_REQUIRE_BROWSER") == "1"


def why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        return f"no Chromium at {CHROMIUM_PATH}"
    return None


def refuse_to_run(reason: str):
    message = f"{SKIP_PREFIX}: {reason}; {INSTALL_HINT}"
    if browser_required():
        pytest.fail(message.replace(SKIP_PREFIX, "browser tests cannot run (PORTAL_REQUIRE_BROWSER=1)"),
                    pytrace=False)
    pytest.skip(message)


# --- the live portal ------------------------------------------------------------------------------------------

LiveServer = LivePortal  # the browser tests' name for it


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, _schema):
    reason = why_no_browser()
    if reason:
        refuse_to_run(reason)
    with running_portal(tmp_path_factory.mktemp("live-portal"), "browser", access_log=True) as portal:
        yield portal


# --- the browser ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser(live_server):
    from playwright.sync_api import Error, sync_playwright

    try:
        playwright = sync_playwright().start()
    except Error as error:  # pragma: no cover - depends on the machine
        refuse_to_run(f"Playwright could not start ({error})")
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True)
    except Error as error:  # pragma: no cover - depends on the machine
        playwright.stop()
        refuse_to_run(f"Chromium at {CHROMIUM_PATH} did not start ({str(error).splitlines()[0]})")
    yield chromium
    chromium.close()
    playwright.stop()


IGNORED_CONSOLE = (
    # A page that answers 404 on purpose (a refused object) logs this; broken assets are caught by status below.
    "Failed to load resource",
)


@dataclass
class PageWatch:
    """What went wrong on a page that the person might not see: script errors, CSP refusals, broken assets."""
    problems: list = field(default_factory=list)
    visited: list = field(default_factory=list)
    js: bool = True


@pytest.fixture
def open_page(browser, live_server, request):
    """open_page(js=True) -> a Page in a new browser context (its own cookies: one person).

    When the test ends, the test fails if any page logged a script error or a CSP refusal, or an asset under
    /static/ failed to load; and every page the test visited with JavaScript on is checked with axe-core and,
    on a phone-sized screen (NARROW_WIDTH), for a page that scrolls sideways.
    """
    contexts, watches = [], []

    def open_page(js: bool = True, **context_options):
        context_options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=live_server.url, java_script_enabled=js, accept_downloads=True,
                                      **context_options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        watch = PageWatch(js=js)
        watches.append((page, watch))

        def on_console(message):
            if message.type == "error" and not message.text.startswith(IGNORED_CONSOLE):
                watch.problems.append(f"console error on {page.url}: {message.text}")

        def on_response(response):
            if "/static/" in response.url and response.status >= 400:
                watch.problems.append(f"{response.status} for {response.url}")

        def on_navigation(frame):
            if frame == page.main_frame and frame.url.startswith(live_server.url):
                watch.visited.append(frame.url)

        page.on("console", on_console)
        page.on("pageerror", lambda error: watch.problems.append(f"script error on {page.url}: {error}"))
        page.on("response", on_response)
        page.on("framenavigated", on_navigation)
        return page

    yield open_page

    failed = request.node.stash.get(_FAILED_KEY, False)
    problems = [problem for _, watch in watches for problem in watch.problems]
    if not failed:
        for page, watch in watches:
            if watch.js and not page.is_closed():
                problems += revisit_for_accessibility(page, watch.visited)
    for context in contexts:
        context.close()
    if problems and not failed:
        pytest.fail("problems in the browser:\n" + "\n".join(problems), pytrace=False)


NARROW_WIDTH = 390  # a phone held upright: no page may scroll sideways at this width


def sideways_scroll(page) -> str | None:
    """None when the page as it is now fits its window's width; else how much wider it is and the widest
    elements that stick out (to find what to fix)."""
    if (page.viewport_size or {}).get("width") == NARROW_WIDTH:
        _CHECKED["narrow"].add(markup_of(page))
    return page.evaluate("""() => {
        const root = document.documentElement;
        if (root.scrollWidth <= root.clientWidth) { return null; }
        const wide = [];
        for (const element of document.body.querySelectorAll('*')) {
            const box = element.getBoundingClientRect();
            if (box.right > root.clientWidth + 1 && box.width > 0) {
                wide.push(element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') +
                          (element.className && typeof element.className === 'string'
                           ? '.' + element.className.trim().split(/\\s+/).join('.') : '') +
                          ' (' + Math.round(box.right) + ' px)');
            }
        }
        return `${root.scrollWidth} px wide in a ${root.clientWidth} px window; sticking out: ` +
               wide.slice(0, 6).join(', ');
    }""")


def narrow_screen_problem(page) -> str | None:
    """Look at the page as it is now on a phone-sized screen (then back to the test's own size)."""
    size = page.viewport_size
    page.set_viewport_size({"width": NARROW_WIDTH, "height": 844})
    try:
        return sideways_scroll(page)
    finally:
        if size:
            page.set_viewport_size(size)


# The markup of the pages this worker has checked (with axe; at phone width), with numbers and tokens taken
# out: journeys pass through the same pages in the same state (the sign-in page, an empty notebook), and a check
# of the same markup finds the same thing. The revisit below skips what was checked; a page in any other state
# is checked.
_CHECKED: dict[str, set[str]] = {"axe": set(), "narrow": set()}
_VARYING = re.compile(r"[A-Za-z0-9_\-.]{24,}|\d+")


def markup_of(page) -> str:
    return hashlib.sha256(_VARYING.sub("0", page.content()).encode()).hexdigest()


def revisit_for_accessibility(page, visited: list[str]) -> list[str]:
    """Run axe on each distinct page the test visited (GETs change nothing, so revisiting is safe), and check
    that it does not scroll sideways on a phone-sized screen."""
    problems, seen = [], set()
    for url in visited:
        address = url.split("#")[0]
        if address in seen or address.endswith(".pdf") or "/pdf" in address or "/download" in address:
            continue
        seen.add(address)
        response = page.goto(address)
        if response is None or response.headers.get("content-type", "").split(";")[0] != "text/html":
            continue
        markup = markup_of(page)
        if markup not in _CHECKED["axe"]:
            problems += [f"{address}: {violation}" for violation in accessibility_violations(page)]
        if markup not in _CHECKED["narrow"]:
            overflow = narrow_screen_problem(page)
            if overflow:
                problems.append(f"{address} scrolls sideways at {NARROW_WIDTH} px: {overflow}")
    return problems


_FAILED_KEY = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED_KEY] = True  # don't pile accessibility noise on top of a real failure
    return report


# --- helpers the journeys share ---------------------------------------------------------------------------------

def accessibility_violations(page, impacts=("serious", "critical")) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, as readable lines."""
    _CHECKED["axe"].add(markup_of(page))
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE_PATH.read_text())
    found = page.evaluate("""async () => {
        const result = await window.axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [f"{v['impact']} {v['id']} ({v['help']}) at {', '.join(v['targets'])}"
            for v in found if v["impact"] in impacts]


def assert_accessible(page) -> None:
    """For states a revisit cannot reach (an error shown, a conflict open): check the page as it is now."""
    violations = accessibility_violations(page)
    assert not violations, f"accessibility violations on {page.url}:\n" + "\n".join(violations)


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/auth/sign-in")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/auth/sign-in" not in page.url, f"sign-in as {email} failed: {page.content()[:2000]}"


def screenshot(page, name: str, **options) -> Path:
    """Save a screenshot. `make screenshots` (PORTAL_SCREENSHOTS=1) writes the README's docs/screenshots/."""
    if os.environ.get("PORTAL_SCREENSHOTS") == "1":
        target = SCREENSHOT_DIR / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
    else:
        target = Path(os.environ["PORTAL_TEST_TMP"]) / "screenshots" / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
    # Playwright hides the text caret by giving every input an inline style and leaves `style=""` behind; htmx
    # then copies that attribute when it swaps a field, which the CSP refuses (a console error the test reports).
    options.setdefault("caret", "initial")
    page.screenshot(path=str(target), **options)
    return target


def link_from_outbox(app, to: str, pattern: str = r"https?://\S+/auth/set-password/\S+") -> str:
    """The newest link of the given shape in mail queued for `to` (an invitation or a reset)."""
    from portal.models import OutboxMail
    with app.app_context():
        mails = db.session.scalars(db.select(OutboxMail).order_by(OutboxMail.id.desc())).all()
        for mail in mails:
            if to.lower() in mail.to_address.lower():
                match = re.search(pattern, mail.body)
                if match:
                    return match.group(0)
        db.session.remove()
    raise AssertionError(f"no link like {pattern!r} in mail to {to}")


@pytest.fixture(autouse=True)
def _report_server_log_on_failure(request, live_server):
    yield
    report_failed = request.node.stash.get(_FAILED_KEY, False)
    if report_failed:
        sys.stderr.write("\n--- live portal log (last lines) ---\n" + live_server.log_tail() + "\n")

