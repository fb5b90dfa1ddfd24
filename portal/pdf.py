"""HTML to PDF with xhtml2pdf, under a resource policy that fetches nothing.

The HTML comes from our own autoescaped templates, but it carries text that pairs and program admins typed.
Should any of it ever reach the markup as a tag, the renderer must not become a way to read the server's files
or reach its network (xhtml2pdf's default still reads files under the working directory, and a refused fetch
does not raise). So:

* every fetch is refused: the link_callback sends every URL (http, https, file, data, relative paths) to a
  scheme that cannot be fetched, and the resource policy denies remote and local reads and admits no resource
  at all for the fetches that bypass the callback (fonts, backgrounds);
* what was refused is recorded (returned by `render_pdf_report`; `render_pdf` logs how many, never the addresses);
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
  carry pair-only content;
* nothing the libraries log reaches a log: xhtml2pdf logs its whole source at DEBUG and, for a character its
  fonts cannot draw, a WARNING quoting the text around it (pair-only answers, printed names); html5lib,
  reportlab, fontTools and the rest may quote the document too. During a render their loggers hand every
  record to a sink that keeps only the resource policy's refusals (returned to the caller, never logged) and
  drops the rest. The child process goes further: every record of every logger goes to that sink, Python's
  warnings are ignored and its stdout and stderr lead to /dev/null; the kind of a failure comes back through
  the pipe and is logged by the parent. What the portal logs about a render (a failure's kind, a time-out, how
  many fetches were refused) quotes nothing of the document, not even a refused address;
* the child reads no file (only /dev/null, where its output goes): the fonts, and everything the renderer and
  the signer load on first use (modules imported lazily, the time zone of the signing time, caches), are loaded
  in the parent before it forks, by rendering and signing a fixed document of this module's own once per
  process (`prepare_renderer`). That is also what keeps a render fast: each child starts warm instead of paying
  for the loading again (see docs/performance.md).

Fonts: the fonts bundled in portal/fonts/ (DejaVu Sans for Latin with its extensions, Greek, Cyrillic, Hebrew and
Arabic; DejaVu Sans Mono for hashes; WenQuanYi Micro Hei for Chinese, Japanese and Korean) are registered with
reportlab by this module, from that fixed list of files and before any document is seen, so the document's own
fetches stay refused. xhtml2pdf embeds them subset, chooses per character the first family of a font-family list
that can draw it, joins Arabic letters (arabic-reshaper) and orders right-to-left runs (its Unicode bidi
algorithm). The 14 standard fonts are not used: they are not embedded and draw only Western European text.
"""
from __future__ import annotations

import gc
import io
import logging
import os
import pickle
import re
import selectors
import signal
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

from pathlib import Path

from reportlab import rl_config
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus.tables import CellStyle
from xhtml2pdf import default as xhtml2pdf_default
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import RenderLimitError, ResourceAccessPolicy
from xhtml2pdf.util import font_has_glyph

log = logging.getLogger(__name__)

MAX_HTML_BYTES = 2 * 1024 * 1024
MAX_NESTING = 100
MAX_STYLE_BYTES = 64 * 1024  # <style> elements and style="" attributes together (ours: under 3 KB)
MAX_RENDER_SECONDS = 20  # below gunicorn's worker timeout (30 s): the page says why before the worker is killed
REFUSED_URL = "refused:fetch-denied"


class PdfRenderError(Exception):
    """The HTML could not be turned into a PDF; the message says why in plain words. `failure` names the kind of
    exception the renderer raised, if any (never its message, which may quote the document)."""

    def __init__(self, message: str, failure: str | None = None):
        super().__init__(message)
        self.failure = failure


@dataclass
class RenderedPdf:
    pdf: bytes
    blocked: list[str] = field(default_factory=list)  # every URL the document asked for and did not get


# --- fonts ---------------------------------------------------------------------------------------------------

FONT_DIR = Path(__file__).resolve().parent / "fonts"


@dataclass(frozen=True)
class BundledFont:
    name: str          # the reportlab font name (what pdffonts shows, after the subset prefix)
    file: str          # in FONT_DIR
    subfont: int = 0   # the face inside a TrueType collection


# The only font files the renderer reads. Families, as the PDF templates name them in font-family:
#   "Portal Sans" (DejaVu Sans: regular, bold, oblique, bold oblique), "Portal Mono" (DejaVu Sans Mono) and
#   "Portal CJK" (WenQuanYi Micro Hei, one weight: bold and italic draw with it too); "Portal Sans Upright"
#   follows "Portal Sans" in the lists, for the letters its oblique faces lack (Arabic).
BUNDLED_FONTS = (
    BundledFont("PortalSans", "DejaVuSans.ttf"),
    BundledFont("PortalSans-Bold", "DejaVuSans-Bold.ttf"),
    BundledFont("PortalSans-Oblique", "DejaVuSans-Oblique.ttf"),
    BundledFont("PortalSans-BoldOblique", "DejaVuSans-BoldOblique.ttf"),
    BundledFont("PortalMono", "DejaVuSansMono.ttf"),
    BundledFont("PortalCJK", "wqy-microhei.ttc"),
)
FONT_FAMILIES = {  # font-family name (as xhtml2pdf looks it up, lower case) -> (regular, bold, italic, bold italic)
    "portal sans": ("PortalSans", "PortalSans-Bold", "PortalSans-Oblique", "PortalSans-BoldOblique"),
    # DejaVu's oblique faces have no Arabic: italic text falls back to the upright faces for those letters.
    "portal sans upright": ("PortalSans", "PortalSans-Bold", "PortalSans", "PortalSans-Bold"),
    "portal mono": ("PortalMono",) * 4,
    "portal cjk": ("PortalCJK",) * 4,
}
_fonts_lock = threading.Lock()
_fonts_ready = False


def register_fonts() -> None:
    """Register the bundled fonts with reportlab and make their families known to xhtml2pdf, once per process.
    Called before the render forks, so that the child inherits them (parsing the CJK font costs ~0.1 s, and
    each face's character coverage, which xhtml2pdf computes on first use, is computed here once as well)."""
    global _fonts_ready
    if _fonts_ready:
        return
    with _fonts_lock:
        if _fonts_ready:
            return
        for font in BUNDLED_FONTS:
            pdfmetrics.registerFont(TTFont(font.name, str(FONT_DIR / font.file), subfontIndex=font.subfont))
        for family, (regular, bold, italic, bold_italic) in FONT_FAMILIES.items():
            addMapping(regular, 0, 0, regular)
            addMapping(regular, 1, 0, bold)
            addMapping(regular, 0, 1, italic)
            addMapping(regular, 1, 1, bold_italic)
            xhtml2pdf_default.DEFAULT_FONT[family] = regular
        for font in BUNDLED_FONTS:
            font_has_glyph(font.name, "a")  # xhtml2pdf keeps each face's coverage once computed
        # reportlab selects this font at the top of every page, before any text: Helvetica would put an
        # unembedded font into every PDF, even one that draws no glyph with it.
        rl_config.canvas_basefontname = "PortalSans"
        CellStyle.fontname = "PortalSans"  # and a table selects this one for each cell it draws
        _fonts_ready = True


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


# The libraries a render runs (and those they load): their log records may quote the document.
RENDER_LIBRARIES = ("xhtml2pdf", "reportlab", "html5lib", "fontTools", "PIL", "svglib", "pypdf", "PyPDF2",
                    "tinycss2", "cssselect2", "arabic_reshaper", "bidi", "lxml", "pyhanko", "asn1crypto", "oscrypto",
                    "uritools", "chardet", "charset_normalizer")


class _RenderLogSink(logging.Handler):
    """Where the render's log records go, and end. It keeps, for the render running in each thread, xhtml2pdf's
    reports of fetches its policy refused (those that bypass the link_callback); everything else is dropped.
    Nothing is ever written anywhere, and a record that cannot be formatted is dropped silently (the standard
    handler would print its arguments, the document's text, to stderr)."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.renders: dict[int, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        blocked = self.renders.get(record.thread)
        if blocked is None or record.levelno < logging.WARNING or not record.name.startswith("xhtml2pdf"):
            return
        try:
            message = record.getMessage()
        except Exception:
            return
        if message.startswith("Blocked by the resource policy") and REFUSED_URL not in message:
            blocked.append(message[:200])

    def handleError(self, record: logging.LogRecord) -> None:
        pass


_SINK = _RenderLogSink()
_SILENCED_LOCK = threading.Lock()
_silenced_renders = 0
_saved_library_loggers: dict[str, tuple[list[logging.Handler], bool]] = {}
_filtered_handlers: list[logging.Handler] = []


class _DropRenderingThreads(logging.Filter):
    """On every handler while a render runs in this process: a record logged by a rendering thread is dropped,
    whichever library (one not in RENDER_LIBRARIES too) logged it, unless this module did (its messages quote
    nothing of the document)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread not in _SINK.renders or record.name == __name__


_DROP_RENDERING_THREADS = _DropRenderingThreads()


def _every_handler() -> list[logging.Handler]:
    handlers = {id(h): h for h in logging.root.handlers}
    for logger in list(logging.root.manager.loggerDict.values()):
        for handler in getattr(logger, "handlers", ()):
            handlers.setdefault(id(handler), handler)
    return [h for h in handlers.values() if h is not _SINK]


def _library_loggers() -> list[logging.Logger]:
    """The libraries' top loggers and every logger below them that exists now (one created later propagates to
    its library's top logger, which ends in the sink)."""
    names = set(RENDER_LIBRARIES)
    names.update(name for name in list(logging.root.manager.loggerDict)
                 if name.split(".", 1)[0] in RENDER_LIBRARIES)
    return [logging.getLogger(name) for name in sorted(names)]


@contextmanager
def _library_logs_silenced():
    """While this thread renders, the libraries' records go to the sink alone (not to the root logger's
    handlers, whatever level or propagation anyone configured), and every other handler drops what this thread
    logs (another library's records included); restored when the last render ends."""
    global _silenced_renders
    blocked: list[str] = []
    with _SILENCED_LOCK:
        if _silenced_renders == 0:
            for logger in _library_loggers():
                _saved_library_loggers[logger.name] = (logger.handlers[:], logger.propagate)
                logger.handlers, logger.propagate = [_SINK], False
            _filtered_handlers[:] = _every_handler()
            for handler in _filtered_handlers:
                handler.addFilter(_DROP_RENDERING_THREADS)
        _silenced_renders += 1
        _SINK.renders[threading.get_ident()] = blocked
    try:
        yield blocked
    finally:
        with _SILENCED_LOCK:
            _SINK.renders.pop(threading.get_ident(), None)
            _silenced_renders -= 1
            if _silenced_renders == 0:
                for name, (handlers, propagate) in _saved_library_loggers.items():
                    logger = logging.getLogger(name)
                    logger.handlers, logger.propagate = handlers, propagate
                _saved_library_loggers.clear()
                for handler in _filtered_handlers:
                    handler.removeFilter(_DROP_RENDERING_THREADS)
                _filtered_handlers.clear()


def _silence_child_process() -> None:
    """In the render's child process (a throwaway copy of the worker): every record of every logger ends in the
    sink, Python's warnings are ignored, and stdout and stderr (the descriptors, and Python's objects, which a
    test runner may have replaced) lead to /dev/null. Nothing the libraries say can leave the child."""
    warnings.simplefilter("ignore")
    logging.lastResort = None
    logging.raiseExceptions = False
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            logger.handlers, logger.propagate = [], True
    logging.root.handlers = [_SINK]
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")


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


def render_pdf_report(html: str, signer=None) -> RenderedPdf:
    """Render `html`, refusing every fetch, in at most MAX_RENDER_SECONDS; returns the PDF and what was refused.
    With a `signer` (portal.pdf_signing.PdfSigner), the PDF is signed in the same process and time bound.
    Raises PdfRenderError (a message in plain words that quotes nothing of the document) when it cannot."""
    if not isinstance(html, str):
        raise PdfRenderError("The document to render must be text.")
    if len(html.encode("utf-8")) > MAX_HTML_BYTES:
        raise PdfRenderError(f"The document is too large to render (more than {MAX_HTML_BYTES // (1024 * 1024)} MB).")
    _measure(html)
    prepare_renderer(signer)
    if hasattr(os, "fork"):
        return _render_in_child(html, signer)
    return _render(html, signer)  # no fork (Windows): the library's own deadline, checked between elements, is the bound


# Rendered and signed once per process, in the parent, before any render forks (prepare_renderer): it uses what
# the portal's documents use (the footer frame with page numbers, every font family, bold and italic, a table,
# right-to-left and CJK text), so that the modules and caches all of that needs are loaded for every child.
_WARM_UP_DOCUMENT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Warm-up</title>
<meta name="subject" content="warm-up"><meta name="keywords" content="warm-up"><meta name="author" content="Portal">
<style>
  @page { size: a4 portrait; margin: 2cm 2cm 2.4cm 2cm;
          @frame footer { -pdf-frame-content: page-footer; bottom: 0.8cm; height: 1.2cm; margin-left: 2cm; } }
  body { font-family: "Portal Sans", "Portal Sans Upright", "Portal CJK"; font-size: 10.5pt; line-height: 1.35; }
  h2 { -pdf-keep-with-next: true; }
  .hash { font-family: "Portal Mono", "Portal Sans"; }
  .filled { font-weight: bold; text-decoration: underline; }
  .ack { border-left: 1.5pt solid #999999; padding-left: 6pt; }
  table.lines { width: 100%; } table.lines td { border-bottom: 0.75pt solid #333333; vertical-align: bottom; }
  table.cert th { background-color: #eeeeee; }
</style></head><body>
<div id="page-footer">Warm-up · SHA-256 <span class="hash">0123456789abcdef</span> · page <pdf:pagenumber> of
<pdf:pagecount></div>
<h1>Warm-up</h1><h2>Section</h2>
<p>Latin <b>bold</b> <i>italic</i> <b><i>both</i></b> <span class="filled">filled</span> Łódź · Ελληνικά · Кириллица
· 中文 日本語 한국어 · العربية · עברית</p>
<ul><li>one</li></ul><ol><li>two</li></ol><div class="ack"><p>acknowledged</p></div>
<table class="lines"><tr><th>Mentor</th><th>Mentee</th></tr><tr><td>signed</td><td>signed</td></tr></table>
<table class="cert"><tr><th>Hash</th><td class="hash">0123456789abcdef</td></tr></table>
<pdf:nextpage><p>Second page</p>
</body></html>"""
_prepared_lock = threading.Lock()
_warm_pdf: bytes | None = None  # the warm-up document rendered (kept to warm the signing when a signer comes)
_signing_warmed = False


def prepare_renderer(signer=None) -> None:
    """Load, in this process, everything a render (and a signature by `signer`) needs: the fonts, pyHanko and the
    key, and whatever the libraries load or cache on first use, by rendering (and signing) the fixed
    _WARM_UP_DOCUMENT once. Called before each render forks: a forked child inherits all of it, so that it reads
    no file and does not load anything again (a cold child imported modules, read the system's time zone files
    and filled its caches on every render). What stays in this process comes from our own document only; no
    document a user typed is ever rendered here (that happens in the child, which is thrown away)."""
    global _warm_pdf, _signing_warmed
    register_fonts()
    if signer is not None:
        signer.warm()  # this signer's key parsed and pyHanko's signer built
    if _warm_pdf is not None and (signer is None or _signing_warmed):
        return
    with _prepared_lock:
        if _warm_pdf is None:
            try:
                _warm_pdf = _render(_WARM_UP_DOCUMENT).pdf
            except Exception as error:  # e.g. a test that breaks the renderer on purpose: a render will say so
                log.warning("PDF renderer warm-up failed: %s", type(error).__name__)
                _warm_pdf = b""
        if signer is not None and not _signing_warmed:
            _signing_warmed = True  # what signing loads on first use is the process's, whichever key signs
            if _warm_pdf:
                try:
                    signer.sign(_warm_pdf)
                except Exception as error:
                    log.warning("PDF signer warm-up failed: %s", type(error).__name__)


_TOO_LONG = "The document could not be rendered: it took longer than the {seconds:g} seconds a PDF may take."
_FAILED = "The document could not be rendered as a PDF: part of it cannot be laid out on a page."


def _render_in_child(html: str, signer=None) -> RenderedPdf:
    """`_render` in a forked child, killed when it runs out of time; its outcome comes back through a pipe."""
    seconds = MAX_RENDER_SECONDS
    reader, writer = os.pipe()
    # The parent's objects go into the collector's permanent generation while it forks, and back right after in
    # the parent: the child's collections never walk them, so they are not copied into the child page by page.
    # Left alone if something else froze objects on purpose.
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        pid = os.fork()
    except BaseException:
        if freeze:
            gc.unfreeze()
        raise
    if pid == 0:  # the child: render, send the outcome, and leave without running any of the parent's cleanup
        code = 1
        try:
            os.close(reader)
            try:
                _silence_child_process()
                outcome = ("ok", _render(html, signer))
            except PdfRenderError as error:
                outcome = ("error", (str(error), error.failure))
            except BaseException as error:  # whatever happens, the child must report and exit
                outcome = ("error", (_FAILED, type(error).__name__))
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
            code = 0
        finally:
            os._exit(code)
    if freeze:
        gc.unfreeze()
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
        message, failure = value
        if failure:  # logged here: the child's log goes nowhere
            log.error("PDF render failed: %s", failure)
        raise PdfRenderError(message, failure=failure)
    return value


def _render(html: str, signer=None) -> RenderedPdf:
    blocked: list[str] = []

    def refuse_every_fetch(uri, _relative):
        blocked.append(str(uri)[:200])
        return REFUSED_URL

    out = io.BytesIO()
    failure = None
    with _library_logs_silenced() as refused_by_policy:
        try:
            status = pisa.CreatePDF(html, dest=out, link_callback=refuse_every_fetch,
                                    resource_policy=_DENY_EVERY_FETCH, encoding="utf-8", raise_exception=True)
        except RenderLimitError as error:  # its messages name limits, never the document's text
            raise PdfRenderError(f"The document could not be rendered: {error}.") from error
        except Exception as error:
            # E.g. reportlab's LayoutError, whose message quotes the text that did not fit (it may be pair-only),
            # or a RecursionError: only the kind of failure goes on, to the page and the log, never the message.
            failure = type(error).__name__
        if failure:
            # Logged once the library's exception is no longer being handled: a log handler that fails here has
            # its traceback printed to stderr, which would otherwise chain that exception and its message.
            log.error("PDF render failed: %s", failure)  # in the child process, this goes nowhere (see above)
            raise PdfRenderError(_FAILED, failure=failure)
        if status.err:
            raise PdfRenderError("The document could not be rendered as a PDF.")
        pdf = out.getvalue()
        if signer is not None:
            try:
                pdf = signer.sign(pdf)
            except Exception as error:  # pyHanko's messages may quote the file; only the kind goes on
                failure = type(error).__name__
            if failure:  # logged outside the handler, as above
                log.error("PDF signature failed: %s", failure)
                raise PdfRenderError("The PDF could not be signed.", failure=failure)
    return RenderedPdf(pdf=pdf, blocked=blocked + refused_by_policy)


def render_pdf(html: str, signer=None) -> bytes:
    """The PDF of `html` (signed by `signer` if given). Nothing is fetched; how many fetches the document asked
    for is logged (not what they named: the addresses come from the document, which may hold pair-only text)."""
    result = render_pdf_report(html, signer)
    if result.blocked:
        log.warning("PDF render refused %d fetch(es); the addresses are not logged", len(result.blocked))
    return result.pdf
