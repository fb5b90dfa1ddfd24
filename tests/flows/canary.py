"""The flow canary's instruments: distinct canaries for each pair-only channel, a crawl of everything a person
can reach, and searches of every place text could escape to (the outbox and the mail file, the log records of
every logger, also those written by the PDF renderer's child process, the audit log, and the raw database,
read as stored, decrypting nothing)."""
from __future__ import annotations

import io
import logging
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urlsplit

from portal.extensions import db
from tests.database_files import read_sqlite_files

# The ASCII part is what every search looks for (it survives any escaping or encoding a log might apply);
# the rest is outside Latin-1, so that it also goes through the fonts' and encoders' failure paths.
NEEDLE = "qz7canary"
TAG = re.compile(NEEDLE + r"-([a-z0-9]+)")


def canary(tag: str) -> str:
    """The text planted in one channel: 'Łódź 王 qz7canary-<tag>'."""
    assert re.fullmatch(r"[a-z0-9]+", tag), tag
    return f"Łódź 王 {NEEDLE}-{tag}"


def canary_address(tag: str) -> str:
    """An e-mail address that is itself a canary (a share's recipient is pair-only until approved)."""
    return f"{NEEDLE}-{tag}@recipients.example"


def tags_in(text: str) -> set[str]:
    return set(TAG.findall(text))


def readable_text(response) -> str:
    """What a person reads in a response: the text of a PDF, the body of anything else (CSV, ICS, JSON, HTML)."""
    data = response.get_data()
    if response.mimetype == "application/pdf" or data[:5] == b"%PDF-":
        return pdf_text(data)
    return data.decode("utf-8", errors="replace")


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    reader = PdfReader(io.BytesIO(bytes(data)))
    parts = [page.extract_text() or "" for page in reader.pages]
    parts.append(repr(reader.metadata or {}))
    return "\n".join(parts)


class _Links(HTMLParser):
    """Every same-site address a page offers to GET: links, htmx GETs, and forms that GET."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("href", "hx-get", "data-hx-get", "src"):
            if attributes.get(name):
                self.urls.append(attributes[name])
        if tag == "form" and (attributes.get("method") or "get").lower() == "get" and attributes.get("action"):
            self.urls.append(attributes["action"])


def _same_site(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith("/static/") or parts.path == "/auth/sign-out":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def is_file(response) -> bool:
    """A file (a download or a PDF shown inline), not a page or a fragment."""
    return response.status_code == 200 and "filename=" in response.headers.get("Content-Disposition", "")


def crawl(client, seeds: list[str], limit: int = 150) -> dict[str, str]:
    """GET every address reachable from `seeds` by following what the pages offer (as a page and as an htmx
    fragment), at most `limit` addresses; returns {address (+ ' [htmx]'): readable text}. No answer is a 500.
    A download is read once, without the htmx header: the file routes send the same bytes to every request.
    Addresses differing only in their query string are followed at most four times per path (the dashboard's
    sort and filter links would otherwise fill the budget)."""
    seen: dict[str, str] = {}
    per_path: dict[str, int] = {}
    queue = deque(seeds)
    queued = set(seeds)
    while queue and len(seen) < 2 * limit:
        url = queue.popleft()
        path = url.split("?")[0]
        if "?" in url:
            per_path[path] = per_path.get(path, 0) + 1
            if per_path[path] > 4:
                continue
        response = None
        for headers, label in (({}, url), ({"HX-Request": "true"}, f"{url} [htmx]")):
            if response is not None and is_file(response):
                break  # a file (PDF, CSV, calendar) has no fragment: htmx asks only pages for one
            response = client.get(url, headers=headers)
            assert response.status_code < 500, f"{url} {headers} answered {response.status_code}"
            seen[label] = readable_text(response) + "\n" + str(response.headers)
            if response.status_code == 200 and response.mimetype == "text/html":
                parser = _Links()
                parser.feed(response.get_data(as_text=True))
                for found in parser.urls:
                    target = _same_site(found)
                    if target and target not in queued:
                        queued.add(target)
                        queue.append(target)
    return seen


class LogCapture:
    """Every log record of every logger, at every level, written to a file: the PDF renderer's child process
    inherits the handler (it is forked), so what it logs lands in the same file."""

    def __init__(self, path) -> None:
        self.path = path
        self.handler = logging.FileHandler(path, encoding="utf-8")
        self.handler.setLevel(logging.DEBUG)
        self.handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self._saved: list[tuple[logging.Logger, int]] = []

    def __enter__(self) -> LogCapture:
        loggers = [logging.getLogger()] + [logger for logger in logging.Logger.manager.loggerDict.values()
                                           if isinstance(logger, logging.Logger)]
        for logger in loggers:
            self._saved.append((logger, logger.level))
            # SQLAlchemy's engine would log every statement and row at DEBUG: the rows are the database, which
            # database_tags() reads directly, and its statements carry no values (parameters are hidden).
            if not logger.name.startswith("sqlalchemy"):
                logger.setLevel(logging.DEBUG)
            if logger is logging.getLogger() or not logger.propagate:
                logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc) -> None:
        for logger, level in self._saved:
            logger.setLevel(level)
            if self.handler in logger.handlers:
                logger.removeHandler(self.handler)
        self.handler.close()

    def text(self) -> str:
        self.handler.flush()
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            return handle.read()


def database_tags() -> dict[str, set[str]]:
    """Canary tags in every column of every table as stored (PDF bytes read as text too), then in the SQLite
    files byte for byte: {table.column: tags}."""
    found: dict[str, set[str]] = {}
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            for column, value in zip(table.columns, row):
                if value is None:
                    continue
                if isinstance(value, (bytes, memoryview)):
                    raw = bytes(value)
                    text = pdf_text(raw) if raw[:5] == b"%PDF-" else raw.decode("utf-8", errors="replace")
                else:
                    text = str(value)
                tags = tags_in(text) | ({"nonlatin"} if "Łódź 王" in text else set())
                if tags:
                    found.setdefault(f"{table.name}.{column.name}", set()).update(tags)
    db.session.commit()
    for name, content in read_sqlite_files().items():
        tags = tags_in(content.decode("latin-1"))
        if tags:
            found.setdefault(name, set()).update(tags)
    return found
