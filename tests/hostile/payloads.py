"""The hostile inputs of the bad-input suite, in one place: the suite's tests read them from here, and
tests/test_security_doc.py counts them for docs/security.md."""
from __future__ import annotations

# Path ids that are not ids of anything the person may see. Negative and non-numeric ones do not match an
# <int:...> route at all; huge ones match and must still answer 404 (never a database overflow).
BAD_IDS = ("-1", "0", str(2**31 - 1), str(2**31), "9" * 18, str(2**63), str(2**64), str(10**30), "abc", "1.5", "1e3", "0x10", "%C2%B2",
           "%D9%A1", "%EF%BC%91", "1%00", "%20%31")

# Query-string values for every GET route (page numbers, cursors, filters).
BAD_QUERY_VALUES = ("-1", str(2**63), str(10**30), "abc", "\u00b2", "\u0661", "1%00", "%FF%FE", "")

# Markup that must be shown as text, never processed: each carries MARKER so that the HTML check can tell an
# element or attribute made from the input from the portal's own.
MARKER = "pwn7c1"
MARKUP_PAYLOADS = (
    f"<script>alert('{MARKER}')</script>",
    f"<img src=x onerror=alert('{MARKER}')>",
    f'"><svg onload=alert("{MARKER}")>',
    f"' autofocus onfocus=alert('{MARKER}') x='",
    f'<div hx-get="/{MARKER}" hx-trigger="load" hx-target="#{MARKER}">{MARKER}</div>',
    f"<button hx-on:click=\"alert('{MARKER}')\">{MARKER}</button>",
    # The portal's own htmx attributes are written data-hx-* (valid HTML); htmx obeys both spellings.
    f"<button data-hx-on:click=\"alert('{MARKER}')\" data-hx-get=\"/{MARKER}\">{MARKER}</button>",
    f"<a href=\"javascript:alert('{MARKER}')\">{MARKER}</a> [x](javascript:alert('{MARKER}'))",
)
# Template syntax that must be shown literally, on pages and in PDFs.
TEMPLATE_PAYLOADS = ("{{ 7*7 }}", "{{ config }}", "{% for x in range(3) %}loop{% endfor %}")
# Links that must never come out as a link target.
LINK_PAYLOADS = ("javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "JaVaScRiPt:alert(1)",
                 " javascript:alert(1)", "vbscript:msgbox(1)")

# Text that is stored and shown but must stay harmless.
BIDI_NAME = "Eve \u202egnp.exe"     # a right-to-left override in a display name
NUL_TEXT = "before\x00after"
