"""No log record carries what a PDF holds. xhtml2pdf logs its whole source at DEBUG and, when the fonts cannot
draw a character, a WARNING quoting the text around it (pair-only answers and printed names included); a failed
or stopped render must not quote the document either. A canary with characters outside Latin-1 and outside the
PDF standard fonts goes through every PDF the portal makes, while every logger records at DEBUG into the test
(in this process, and through a file and the process's stderr for the render's child process)."""
from __future__ import annotations

import logging
import re

import pytest

import portal.pdf
from portal.domain.template_format import parse_definition
from portal.domain.template_store import create_template, publish
from portal.extensions import db
from portal.pdf import PdfRenderError, render_pdf
from tests.factories import fill_in, make_agreement, make_pair, make_program, make_role, make_user, act_as, delivered
from tests.hostile_pdf.test_pdf_inputs import sign_over_the_page
from tests.signing.conftest import FULL_VALUES, SIGNING_TEMPLATE, pdf_text

CANARY = "Łódź 王 canary-xyz"
# The canary, each word of it, each character the standard fonts cannot draw, and how a log would name those.
CANARY_PARTS = (CANARY, "Łódź", "王", "canary-xyz", "Ł", "ź", "U+0141", "U+017A", "U+738B")


@pytest.fixture
def every_log(tmp_path, capfd):
    """Every logger at DEBUG, propagating to the root logger, whose handlers keep every record in memory (this
    process) and in a file (the render's child process writes there too); with the process's stdout and stderr
    (fd 1 and 2, which the child shares). Returns a function giving all of it as one text.

    SQLAlchemy's own loggers keep their level: at DEBUG they are its echo of every SQL statement and result
    row, a debugging switch that prints database contents by design (the portal hides parameters)."""
    path = tmp_path / "every.log"
    kept: list[str] = []
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    class Keep(logging.Handler):
        def emit(self, record):
            kept.append(self.format(record))

    keep, to_file = Keep(logging.DEBUG), logging.FileHandler(path, encoding="utf-8")
    for handler in (keep, to_file):
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(formatter)
    root = logging.getLogger()
    saved = {}
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and not name.startswith("sqlalchemy"):
            saved[name] = (logger.level, logger.propagate, logger.disabled)
            logger.setLevel(logging.DEBUG)
            logger.propagate, logger.disabled = True, False
    saved_root = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(keep)
    root.addHandler(to_file)

    def everything() -> str:
        to_file.flush()
        out, err = capfd.readouterr()
        return "\n".join([*kept, path.read_text(encoding="utf-8", errors="replace"), out, err])

    yield everything
    root.removeHandler(keep)
    root.removeHandler(to_file)
    to_file.close()
    root.setLevel(saved_root)
    for name, (level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


def assert_no_canary(text: str) -> None:
    for part in CANARY_PARTS:
        assert part not in text, f"{part!r} is in the log"


def canary_template() -> dict:
    """The signing test's template with the canary in every text a program admin writes."""
    sections = []
    for section in SIGNING_TEMPLATE["sections"]:
        fields = []
        for field in section["fields"]:
            field = dict(field)
            if field["type"] in ("clause", "acknowledgement"):
                field["text"] = f"{field['text']} {CANARY}"
            else:
                field["help"] = CANARY
            fields.append(field)
        sections.append(dict(section, intro=CANARY, fields=fields))
    return dict(SIGNING_TEMPLATE, intro=CANARY, sections=sections)


def test_no_pdf_the_portal_makes_logs_its_content(app, every_log):
    """With the canary in every answer (pair-only ones too), every template text and both printed names: do the
    pair's copy, the program's copy (mailed on activation and downloaded), their signature certificates and the
    template's PDF preview get made without one log record, at any level from any logger, or one line on the
    process's output quoting the canary or any part of it?"""
    program = make_program(code="LOG", name="Log Program")
    admin, mentor, mentee = make_user(name="Ada Admin"), make_user(name="Maya Mentor"), make_user(name="Eli Mentee")
    make_role(admin, program, "admin")
    version = publish(create_template(program, parse_definition(canary_template()), None), None)
    db.session.commit()
    agreement = make_agreement(make_pair(program, mentor, mentee), version)
    fill_in(agreement, {**FULL_VALUES, "motto": CANARY, "story": f"{CANARY}\n{CANARY}", "goals": [CANARY],
                        "secret": f"Pair only: {CANARY}", "topics": [CANARY]})
    clients = {}
    for role, person in (("mentor", mentor), ("mentee", mentee), ("admin", admin)):
        clients[role] = app.test_client()
        act_as(clients[role], person)
    every_log()  # from here on: the signing, its mailed copy, the downloads and the preview
    for role in ("mentor", "mentee"):  # the second signature queues the mail that carries the program's copy
        assert sign_over_the_page(clients[role], agreement.id, role, f"{role} {CANARY}").status_code == 303
    assert db.session.get(type(agreement), agreement.id).state == "active"
    pdfs = {"mailed program copy": delivered("signed_copy_program")[0].attachment}
    for copy in ("pair", "program"):
        response = clients["mentor"].get(f"/agreements/{agreement.id}/versions/1/{copy}-copy.pdf")
        assert response.status_code == 200
        pdfs[f"downloaded {copy} copy"] = response.get_data()
    preview = clients["admin"].get(f"/programs/{program.id}/templates/versions/{version.id}/preview.pdf")
    assert preview.status_code == 200
    pdfs["template preview"] = preview.get_data()
    for name, pdf in pdfs.items():
        assert "canary-xyz" in pdf_text(pdf), name  # the canary did go through the renderer
    assert "Pair only: " in pdf_text(pdfs["downloaded pair copy"])
    assert re.search(r"mentee \S*d\S* \S* ?canary-xyz", pdf_text(pdfs["downloaded pair copy"]))  # a printed name
    assert_no_canary(every_log())


class LayoutFailure(Exception):
    """Stands for reportlab's LayoutError, whose message quotes the text that did not fit on a page."""


def failing_render(*args, **kwargs):
    """A library that logs the text it works on at every level, then fails quoting it."""
    for name in ("xhtml2pdf.document", "reportlab.platypus", "html5lib", "fontTools.ttLib", "some.other.library"):
        library = logging.getLogger(name)
        for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
            library.log(level, "working on %r", CANARY)
    raise LayoutFailure(f"Flowable <Paragraph>{CANARY}(538 x 100000) too large on page 2")


def test_a_failing_render_logs_no_content(every_log, monkeypatch):
    """When the renderer's libraries log the document at every level and then fail quoting it, in the child
    process and in this one, is the failure reported (its kind, in this process's log) without the canary?"""
    every_log()
    monkeypatch.setattr(portal.pdf.pisa, "CreatePDF", failing_render)
    with pytest.raises(PdfRenderError, match="cannot be laid out") as raised:
        render_pdf(f"<p>{CANARY}</p>")  # forked, as the portal renders
    assert CANARY not in str(raised.value)
    with pytest.raises(PdfRenderError, match="cannot be laid out"):
        portal.pdf._render(f"<p>{CANARY}</p>")  # in this process, as where the system cannot fork
    text = every_log()
    assert "PDF render failed: LayoutFailure" in text
    assert_no_canary(text)


def test_a_render_stopped_at_its_time_bound_logs_no_content(every_log, monkeypatch):
    """When a render is killed at its time bound (html5lib busy on a wall of "<" after the canary), has nothing
    it logged before being stopped quoted the canary?"""
    every_log()
    monkeypatch.setattr(portal.pdf, "MAX_RENDER_SECONDS", 1)
    with pytest.raises(PdfRenderError, match="took longer"):
        render_pdf(f"<p>{CANARY}</p>" + "<" * 2_000_000)
    text = every_log()
    assert "PDF render stopped" in text
    assert_no_canary(text)


def test_a_refused_fetch_is_logged_without_its_address(every_log):
    """When raw markup asks for a resource named after the canary, is the refusal logged without the address
    (it comes from the document)?"""
    every_log()
    assert render_pdf(f'<p>x</p><img src="http://127.0.0.1:9/{CANARY}">').startswith(b"%PDF-")
    text = every_log()
    assert "refused 1 fetch" in text
    assert_no_canary(text)


def test_a_log_handler_that_fails_during_a_failed_render_prints_no_content(monkeypatch, capfd):
    """When a log handler itself fails while the failed render is reported (a full disk, a closed stream),
    logging prints that error's traceback to stderr: does it carry no trace of the exception that quoted the
    document (it would be its context if the report were made while that exception was being handled)?"""
    class Broken(logging.Handler):
        def emit(self, record):  # as logging's own handlers do: a failure to write goes to handleError
            try:
                raise OSError("the log's disk is full")
            except OSError:
                self.handleError(record)

    broken = Broken(logging.ERROR)
    logging.getLogger("portal.pdf").addHandler(broken)
    monkeypatch.setattr(logging, "raiseExceptions", True)  # Python's default: report a handler's failure
    monkeypatch.setattr(portal.pdf.pisa, "CreatePDF", failing_render)
    try:
        with pytest.raises(PdfRenderError, match="cannot be laid out"):
            portal.pdf._render(f"<p>{CANARY}</p>")
    finally:
        logging.getLogger("portal.pdf").removeHandler(broken)
    out, err = capfd.readouterr()
    assert "the log's disk is full" in err  # the handler's failure was reported
    assert_no_canary(out + err)
