"""A deliberately tiny Markdown subset for notes: paragraphs, line breaks, **bold**, *italic*, "- " bullets.

Everything is HTML-escaped FIRST; only then are the few fixed tags inserted, so no input can produce any other
tag, attribute or link. Anything outside the subset (headings, links, images, raw HTML) stays literal text.
"""
from __future__ import annotations

import re

from markupsafe import Markup, escape

BULLET = "- "
_MARKER_RUN = re.compile(r"\*{1,3}")
_TAGS = {"**": ("<strong>", "</strong>"), "*": ("<em>", "</em>")}


def _inline(line: str) -> str:
    """Escape the line, then turn matched **...** and *...* into <strong>/<em>.

    A marker opens before a non-space and not inside a word, and closes after a non-space and not before a
    word character (so "2 * 3", "a*b*c" and file_*names* stay as typed). Only the innermost open marker can
    be closed, so tags are always properly nested; markers that never close stay literal asterisks.
    """
    html = str(escape(line))  # escaping never produces "*": markers cannot cut an entity in half
    out: list[str] = []
    open_markers: list[tuple[str, int]] = []  # (marker, index in `out` of its literal placeholder)
    position = 0
    for match in _MARKER_RUN.finditer(html):
        out.append(html[position:match.start()])
        position = match.end()
        run = match.group()
        before = html[match.start() - 1] if match.start() else " "
        after = html[match.end()] if match.end() < len(html) else " "
        markers = ["**", "*"] if run == "***" else [run]
        top = [marker for marker, _ in open_markers[-len(markers):]]
        if not before.isspace() and not after.isalnum() and sorted(top) == sorted(markers):
            for _ in markers:
                marker, slot = open_markers.pop()
                out[slot] = _TAGS[marker][0]
                out.append(_TAGS[marker][1])
        elif not after.isspace() and not before.isalnum():
            for marker in markers:
                open_markers.append((marker, len(out)))
                out.append(marker)
        else:
            out.append(run)
    out.append(html[position:])
    return "".join(out)


def render_note(text: str) -> Markup:
    """HTML for a note's text. Blank lines separate paragraphs; single line breaks are kept as <br>;
    consecutive lines starting with "- " form a bullet list."""
    blocks: list[str] = []
    paragraph: list[str] = []
    bullets: list[str] = []

    def close_paragraph() -> None:
        if paragraph:
            blocks.append("<p>" + "<br>\n".join(_inline(line) for line in paragraph) + "</p>")
            paragraph.clear()

    def close_list() -> None:
        if bullets:
            blocks.append("<ul>\n" + "\n".join(f"<li>{_inline(item)}</li>" for item in bullets) + "\n</ul>")
            bullets.clear()

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip():
            close_paragraph()
            close_list()
        elif line.startswith(BULLET) and line[len(BULLET):].strip():
            close_paragraph()
            bullets.append(line[len(BULLET):].strip())
        else:
            close_list()
            paragraph.append(line)
    close_paragraph()
    close_list()
    return Markup("\n".join(blocks))
