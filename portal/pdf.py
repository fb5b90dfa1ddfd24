"""HTML to PDF with xhtml2pdf, under a resource policy that fetches nothing.

The HTML comes from our own autoescaped templates, but it carries text that pairs and program admins typed.
Should any of it ever reach the markup as a tag, the renderer must not become a way to read the server's files
or reach its network (xhtml2pdf's default still reads files under the working directory, and a refused fetch
does not raise). So:

* every fetch is refused: the link_callback sends every URL (http, https, file, data, relative paths) to a
  scheme that cannot be fetched, and the resource policy denies remote and local reads and admits no resource
  at all for the fetches that bypass the callback (fonts, backgrounds);
* what was refused is recorded (returned by `render_pdf_report`, logged by `render_pdf`);
* the input is bounded: its size, how deeply it nests, and how long the render may take.

Only fonts built into the PDF standard (Helvetica, Times, Courier) are used, so nothing needs to be read.
"""
from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass, field

from xhtml2pdf import pisa
from xhtml2pdf.config.resources import RenderLimitError, ResourceAccessPolicy

log = logging.getLogger(__name__)

MAX_HTML_BYTES = 2 * 1024 * 1024
MAX_NESTING = 100
MAX_RENDER_SECONDS = 30
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


def render_pdf_report(html: str) -> RenderedPdf:
    """Render `html`, refusing every fetch; returns the PDF and what was refused."""
    if not isinstance(html, str):
        raise PdfRenderError("The document to render must be text.")
    if len(html.encode("utf-8")) > MAX_HTML_BYTES:
        raise PdfRenderError(f"The document is too large to render (more than {MAX_HTML_BYTES // (1024 * 1024)} MB).")
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
                                encoding="utf-8")
    except RenderLimitError as error:
        raise PdfRenderError(f"The document could not be rendered: {error}.") from error
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
