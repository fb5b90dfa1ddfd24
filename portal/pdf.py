"""HTML to PDF with xhtml2pdf, fetching nothing: the one place the portal makes PDFs.

The HTML comes from our own autoescaped templates, but the text inside it is written by program admins and
pairs, so the renderer is treated as if the markup were hostile: no resource is ever fetched (no image,
stylesheet, font or ``@import``, neither over the network nor from the disk), the input size is bounded and
so is the render time. Used by the template builder's PDF preview and, later, by signed agreements.

Two locks keep every fetch out, because each alone has a gap:

* ``link_callback`` sees the URI of every resource the markup names and rewrites it to a name that leads
  nowhere. (It must return something non-empty: xhtml2pdf keeps the original URI when the callback returns an
  empty value.)
* a ``ResourceAccessPolicy`` that denies remote fetches and every local read, for the call sites that do not
  go through the callback (xhtml2pdf documents about ten).

Whatever was refused is recorded and logged: a refused resource does not raise, the document is simply made
without it, so the record is the only trace.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from xhtml2pdf import pisa
from xhtml2pdf.config.resources import RenderLimitError, ResourceAccessPolicy

log = logging.getLogger(__name__)

# A template file is at most 256 KiB of text and an agreement adds its answers; the markup around them is a
# few hundred bytes per field. Two million characters leaves room for both and keeps a render to seconds.
MAX_HTML_CHARS = 2_000_000
MAX_RENDER_SECONDS = 30
# Where a refused resource is sent: not a URL, not a readable path, and denied by the policy in any case.
REFUSED_RESOURCE = "refused-resource:"

_DENY_EVERY_FETCH = ResourceAccessPolicy.server(
    base_dir=None,                 # no directory may be read
    allow_remote=False,            # no http(s) at all, public or private
    allow_private_networks=False,
    allow_remote_pdf_backgrounds=False,
    max_resources=0,
    max_render_seconds=MAX_RENDER_SECONDS,
    max_document_bytes=MAX_HTML_CHARS * 4,  # the policy counts bytes; UTF-8 needs at most 4 per character
)


class PdfRenderError(Exception):
    """The PDF could not be made; the message says why in words a person can act on."""


@dataclass(frozen=True)
class RenderedPdf:
    pdf: bytes
    blocked: tuple[str, ...]  # every resource the markup asked for, none of which was fetched


def render_pdf_report(html: str) -> RenderedPdf:
    """Render ``html`` to PDF without fetching anything; report what the markup asked for."""
    if not isinstance(html, str):
        raise TypeError(f"render_pdf takes the HTML as str, not {type(html).__name__}")
    if len(html) > MAX_HTML_CHARS:
        raise PdfRenderError(f"The document is too long to be made into a PDF ({len(html):,} characters; "
                             f"the limit is {MAX_HTML_CHARS:,}).")
    blocked: list[str] = []

    def refuse_every_fetch(uri: str, _relative_to: str | None) -> str:
        blocked.append(str(uri)[:200])
        return REFUSED_RESOURCE

    output = io.BytesIO()
    try:
        status = pisa.CreatePDF(html, dest=output, encoding="utf-8", link_callback=refuse_every_fetch,
                                resource_policy=_DENY_EVERY_FETCH)
    except RenderLimitError as error:
        raise PdfRenderError(f"The PDF took too long or was too large to make ({error}).") from error
    except Exception as error:  # xhtml2pdf and reportlab raise many kinds; none may become a 500 page
        log.exception("PDF rendering failed")
        raise PdfRenderError("The PDF could not be made from this document.") from error
    if status.err:
        raise PdfRenderError(f"The PDF could not be made from this document ({status.err} error(s) while "
                             "laying it out).")
    if blocked:
        log.warning("PDF rendering refused %d resource(s): %s", len(blocked), ", ".join(blocked[:10]))
    pdf = output.getvalue()
    if not pdf.startswith(b"%PDF"):
        raise PdfRenderError("The PDF could not be made from this document (the renderer produced no PDF).")
    return RenderedPdf(pdf=pdf, blocked=tuple(blocked))


def render_pdf(html: str) -> bytes:
    """The PDF of ``html``, made without fetching any resource. Raises PdfRenderError on failure."""
    return render_pdf_report(html).pdf
