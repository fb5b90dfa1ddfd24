"""HTML to PDF with xhtml2pdf, under a resource policy that fetches nothing.

The HTML comes from our own autoescaped templates, but it carries text that pairs and program admins typed.
Should any of it ever reach the markup as a tag, the renderer must not become a way to read the server's files
or reach its network (xhtml2pdf's default still reads files under the working directory, and a refused fetch
does not raise). So:

* every fetch is refused: the link_callback sends every URL (http, https, file, data, relative paths) to a
  scheme that cannot be fetched, and the resource policy denies remote and local reads and admits no resource
  at all for the fetches that bypass the callback (fonts, backgrounds);
* what was refused is recorded (returned by `render_pdf_report`, logged by `render_pdf`);
* the input is bounded: its size, how deeply it nests and how much style sheet it carries are measured by a
  linear scan BEFORE xhtml2pdf sees the document (html5lib takes quadratic time on deep nesting: 5,000 nested
  <div>s cost ~8 s of parsing before xhtml2pdf's own depth check could refuse them);
* the render's time is bounded for real: xhtml2pdf checks its deadline only between elements and flowables, and
  html5lib's parse, the CSS parse and the layout of one large table run without a check (2 MB of "<" took 51 s
  against a 30 s deadline). So, where the system can fork (Linux, macOS), the render runs in a child process
  that is killed once MAX_RENDER_SECONDS have passed; a runaway render costs one CPU for that long, never a
  worker for good. The child touches no database connection and leaves with os._exit (no cleanup that could
  close the parent's connections);
* whatever goes wrong inside the renderer (a layout that cannot fit a page, a recursion too deep, a library bug)
  ends as a PdfRenderError whose message names no document text, so that neither the page nor the log can
  carry pair-only content.

Only fonts built into the PDF standard (Helvetica, Times, Courier) are used, so nothing needs to be read.
"""
from __future__ import annotations

import io
import logging
import os
import pickle
import re
import selectors
import signal
import threading
import time
from dataclasses import dataclass, field

from xhtml2pdf import pisa
from xhtml2pdf.config.resources import RenderLimitError, ResourceAccessPolicy

log = logging.getLogger(__name__)

MAX_HTML_BYTES = 2 * 1024 * 1024
MAX_NESTING = 100
MAX_STYLE_BYTES = 64 * 1024  # <style> elements and style="" attributes together (ours: under 3 KB)
MAX_RENDER_SECONDS = 20  # below gunicorn's worker timeout (30 s): the page says why before the worker is killed
REFUSED_URL = "refused:fetch-denied"


class PdfRenderError(Exception):
    """The HTML could not be turned into a PDF; the message says why in plain words."""


@dataclass
class RenderedPdf:
    pdf: bytes
    blocked: list[str] = field(default_factory=list)  # every URL the document asked for and did not get


def _policy() -> ResourceAccessPolicy:
    return ResourceAccessPolicy.server(
        base_dir=None,              # no directory may be read
        allow_remote=False,         # no network
        max_resources=0,            # and nothing at all, whichever code path asks
        max_document_bytes=MAX_HTML_BYTES,
        max_depth=MAX_NESTING,
        max_render_seconds=MAX_RENDER_SECONDS,
    )


_DENY_EVERY_FETCH = _policy()


class _BlockedFetches(logging.Handler):
    """Collects xhtml2pdf's reports of fetches its policy refused (those that bypass the link_callback), for
    this thread's render only (another thread may be rendering at the same time)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        message = record.getMessage()
        if message.startswith("Blocked by the resource policy") and REFUSED_URL not in message:
            self.messages.append(message[:200])


# Elements that never hold others, and those whose start tag closes an open one of the same name (<p><p>, <li><li>):
# the scan counts nesting as html5lib will build it, erring towards counting more.
_VOID = frozenset("area base br col embed hr img input keygen link meta param source track wbr".split())
_CLOSED_BY_SIBLING = frozenset("p li dt dd option tr td th thead tbody tfoot".split())
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
_STYLE_END = re.compile(r"</style", re.IGNORECASE)
_STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*("[^"]*"|'[^']*'|[^\s>]*)""", re.IGNORECASE)


def _measure(html: str) -> None:
    """One linear pass over the document (str.find and anchored matches only, so that no input makes it slow;
    the standard library's html.parser takes quadratic time on an unclosed comment): refuse, with a
    PdfRenderError, a document whose elements nest more than MAX_NESTING deep or whose style sheets are larger
    than MAX_STYLE_BYTES, before html5lib spends its own (quadratic) time on it."""
    open_tags: list[str] = []
    style_bytes = 0
    position, end = 0, len(html)
    while position < end:
        start = html.find("<", position)
        if start < 0:
            break
        if html.startswith("<!--", start):
            close = html.find("-->", start + 4)
            if close < 0:
                break  # the rest is a comment
            position = close + 3
            continue
        close = html.find(">", start + 1)
        if close < 0:
            break  # no tag can end: the rest is text
        match = _TAG.match(html, start, close)
        position = close + 1
        if not match:
            continue
        closing, name = match.group(1), match.group(2).lower()
        tag = html[start:close]
        if not closing:
            for attribute in _STYLE_ATTRIBUTE.finditer(tag):
                style_bytes += len(attribute.group(1).encode("utf-8"))
        if closing:
            if name in open_tags:
                while open_tags.pop() != name:
                    pass
        elif name in _VOID or tag.endswith("/"):
            pass
        else:
            if name in _CLOSED_BY_SIBLING and open_tags and open_tags[-1] == name:
                open_tags.pop()
            open_tags.append(name)
            if len(open_tags) > MAX_NESTING:
                raise PdfRenderError(f"The document could not be rendered: it nests more than {MAX_NESTING} levels.")
            if name == "style":
                found = _STYLE_END.search(html, position)
                style_end = found.start() if found else end
                style_bytes += len(html[position:style_end].encode("utf-8"))
                position = style_end
        if style_bytes > MAX_STYLE_BYTES:
            raise PdfRenderError("The document could not be rendered: its style sheets are larger than "
                                 f"{MAX_STYLE_BYTES // 1024} KB.")


def render_pdf_report(html: str) -> RenderedPdf:
    """Render `html`, refusing every fetch, in at most MAX_RENDER_SECONDS; returns the PDF and what was refused.
    Raises PdfRenderError (a message in plain words that quotes nothing of the document) when it cannot."""
    if not isinstance(html, str):
        raise PdfRenderError("The document to render must be text.")
    if len(html.encode("utf-8")) > MAX_HTML_BYTES:
        raise PdfRenderError(f"The document is too large to render (more than {MAX_HTML_BYTES // (1024 * 1024)} MB).")
    _measure(html)
    if hasattr(os, "fork"):
        return _render_in_child(html)
    return _render(html)  # no fork (Windows): the library's own deadline, checked between elements, is the bound


_TOO_LONG = "The document could not be rendered: it took longer than the {seconds:g} seconds a PDF may take."
_FAILED = "The document could not be rendered as a PDF: part of it cannot be laid out on a page."


def _render_in_child(html: str) -> RenderedPdf:
    """`_render` in a forked child, killed when it runs out of time; its outcome comes back through a pipe."""
    seconds = MAX_RENDER_SECONDS
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, send the outcome, and leave without running any of the parent's cleanup
        code = 1
        try:
            os.close(reader)
            try:
                outcome = ("ok", _render(html))
            except PdfRenderError as error:
                outcome = ("error", str(error))
            except BaseException as error:  # whatever happens, the child must report and exit
                log.error("PDF render failed: %s", type(error).__name__)
                outcome = ("error", _FAILED)
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    chunks: list[bytes] = []
    finished = False
    deadline = time.monotonic() + seconds
    waiting = selectors.DefaultSelector()  # epoll or poll: select() fails on descriptors past 1024
    waiting.register(reader, selectors.EVENT_READ)
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if waiting.select(remaining):
                chunk = os.read(reader, 1 << 20)
                if not chunk:
                    finished = True
                    break
                chunks.append(chunk)
    finally:
        waiting.close()
        os.close(reader)
        if not finished:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
    if not finished:
        log.error("PDF render stopped after %g seconds", seconds)
        raise PdfRenderError(_TOO_LONG.format(seconds=seconds))
    try:
        kind, value = pickle.loads(b"".join(chunks))  # our own child's bytes
    except Exception:  # the child died without a word (e.g. a crash deep in the C stack)
        log.error("PDF render process ended without a result")
        raise PdfRenderError(_FAILED) from None
    if kind != "ok":
        raise PdfRenderError(value)
    return value


def _render(html: str) -> RenderedPdf:
    blocked: list[str] = []

    def refuse_every_fetch(uri, _relative):
        blocked.append(str(uri)[:200])
        return REFUSED_URL

    watcher = _BlockedFetches()
    library_log = logging.getLogger("xhtml2pdf")
    library_log.addHandler(watcher)
    out = io.BytesIO()
    try:
        status = pisa.CreatePDF(html, dest=out, link_callback=refuse_every_fetch, resource_policy=_DENY_EVERY_FETCH,
                                encoding="utf-8", raise_exception=True)
    except RenderLimitError as error:  # its messages name limits, never the document's text
        raise PdfRenderError(f"The document could not be rendered: {error}.") from error
    except Exception as error:
        # E.g. reportlab's LayoutError, whose message quotes the text that did not fit (it may be pair-only), or a
        # RecursionError: only the kind of failure goes on, to the page and the log, never the message.
        log.error("PDF render failed: %s", type(error).__name__)
        raise PdfRenderError(_FAILED) from None
    finally:
        library_log.removeHandler(watcher)
    if status.err:
        raise PdfRenderError("The document could not be rendered as a PDF.")
    return RenderedPdf(pdf=out.getvalue(), blocked=blocked + watcher.messages)


def render_pdf(html: str) -> bytes:
    """The PDF of `html`. Nothing is fetched; anything the document asked for is logged as blocked."""
    result = render_pdf_report(html)
    if result.blocked:
        log.warning("PDF render refused %d fetch(es): %s", len(result.blocked), "; ".join(result.blocked[:10]))
    return result.pdf
