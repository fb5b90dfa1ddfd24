"""poppler's pdftotext and pdffonts, as a reader of the portal's PDFs would use them.

Poppler is a system package (poppler-utils), installed by .ci/run. Without it these checks are skipped on a
developer machine, with a message saying so, and fail in CI (PORTAL_REQUIRE_PDF_TOOLS=1, which .ci/run sets):
the PDF's fonts must never go unchecked there."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import unicodedata

import pytest

TOOLS = ("pdftotext", "pdffonts")
INSTALL_HINT = "install them with `sudo apt-get install poppler-utils` (Debian/Ubuntu)"
# What pdftotext writes around a right-to-left run (embedding marks), which nobody typed.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def require_pdf_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    message = f"PDF font checks skipped: {', '.join(missing)} not found; {INSTALL_HINT}"
    if os.environ.get("PORTAL_REQUIRE_PDF_TOOLS") == "1":
        pytest.fail(message.replace("PDF font checks skipped", "PDF font checks cannot run "
                                                               "(PORTAL_REQUIRE_PDF_TOOLS=1)"), pytrace=False)
    pytest.skip(message)  # named in the run's summary (-ra); CI sets PORTAL_REQUIRE_PDF_TOOLS=1 and fails instead


def _run(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        done = subprocess.run([tool, *args, file.name, *(["-"] if tool == "pdftotext" else [])],
                              capture_output=True, timeout=60, check=True)
    return done.stdout.decode("utf-8")


def pdftotext(pdf: bytes) -> str:
    """The text as pdftotext reads it, as a reader would compare it with what was typed: in Unicode's
    compatibility form (Arabic is drawn with its joined presentation forms, which that form maps back to the
    letters typed), without the direction marks pdftotext adds, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", _run("pdftotext", pdf, "-enc", "UTF-8")).translate(_BIDI_CONTROLS)
    return " ".join(text.split())


def pdffonts(pdf: bytes) -> list[dict]:
    """One row per font of the PDF: name, type, embedded, subset, unicode (a ToUnicode map)."""
    lines = _run("pdffonts", pdf).splitlines()[2:]
    rows = []
    for line in lines:
        match = re.match(r"(\S+)\s+(.+?)\s+(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$", line)
        assert match, line
        rows.append({"name": match.group(1), "type": match.group(2), "embedded": match.group(4) == "yes",
                     "subset": match.group(5) == "yes", "unicode": match.group(6) == "yes"})
    return rows


def assert_every_font_embedded(pdf: bytes) -> list[dict]:
    fonts = pdffonts(pdf)
    assert fonts
    not_embedded = [font["name"] for font in fonts if not (font["embedded"] and font["subset"] and font["unicode"])]
    assert not_embedded == [], f"fonts not embedded as subsets with a ToUnicode map: {not_embedded}"
    return fonts
