"""The render's child process reads no file: whatever the renderer and the signer need (modules they import on
first use, the time zone the signing time is written in, fonts) is loaded by the worker before it forks, so a
render touches nothing on disk but /dev/null (where its output goes), and does not pay for loading any of it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# In a fresh interpreter (nothing imported or cached by other tests): an audit hook notes every file opened in
# the render's child, on a descriptor opened before the hook (writing there opens nothing).
CHILD_READS = textwrap.dedent("""
    import json, os, sys
    from portal import pdf, pdf_signing

    signer = pdf_signing.PdfSigner(pdf_signing.new_identity("Mentorship Agreement Portal test"))
    log_path = sys.argv[1]
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    parent = os.getpid()

    def note_opens(event, args):
        if event == "open" and os.getpid() != parent and isinstance(args[0], (str, bytes, os.PathLike)):
            os.write(log, os.fsencode(args[0]) + b"\\n")

    sys.addaudithook(note_opens)
    html = sys.stdin.read()
    for _ in range(2):  # the first render and a later one
        assert pdf.render_pdf_report(html, signer).pdf.startswith(b"%PDF-")
""")

DOCUMENT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Agreement</title><style>
  @page { size: a4 portrait; margin: 2cm;
          @frame footer { -pdf-frame-content: page-footer; bottom: 0.8cm; height: 1.2cm; margin-left: 2cm; } }
  body { font-family: "Portal Sans", "Portal Sans Upright", "Portal CJK"; font-size: 10.5pt; }
  .hash { font-family: "Portal Mono", "Portal Sans"; }
  table.lines td { border-bottom: 0.75pt solid #333333; padding: 6pt 4pt 2pt 4pt; }
</style></head><body>
<div id="page-footer">Agreement 1 · SHA-256 <span class="hash">0123abcd</span> · page <pdf:pagenumber> of
<pdf:pagecount></div>
<h1>Mentor Partnership Agreement</h1>
<p>Mentor: <b>Łukasz Żółkiewski-O'Brien</b> · Mentee: <i>李小龍</i> · محمد عبد الله · שרה לוי · Пётр</p>
<table class="lines"><tr><th>Mentor</th><th>Mentee</th></tr><tr><td>signed</td><td>signed</td></tr></table>
</body></html>"""


def test_the_render_child_opens_no_file_but_dev_null(tmp_path):
    """Rendering and signing a PDF in a fresh worker, twice: does the forked child open no file at all (no module,
    no time zone data, no font) other than /dev/null, from the first render on?"""
    log = tmp_path / "opened.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([sys.executable, "-c", CHILD_READS, str(log)], input=DOCUMENT, text=True, cwd=ROOT,
                               env=env, capture_output=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    opened = sorted(set(log.read_text().split("\n")) - {""}) if log.exists() else []
    assert set(opened) <= {os.devnull}, json.dumps(opened, indent=1)


def test_a_render_leaves_the_worker_collecting_its_garbage():
    """The worker's objects are frozen for the garbage collector while a render forks: after a PDF, are they all
    back under collection (a worker that left them frozen would never free a cycle again)?"""
    import gc

    from portal.pdf import render_pdf
    assert render_pdf("<p>One page</p>").startswith(b"%PDF-")
    assert gc.get_freeze_count() == 0
