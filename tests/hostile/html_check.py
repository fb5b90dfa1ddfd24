"""Reading responses with a real HTML parser: which elements and attributes came from hostile input."""
from __future__ import annotations

import io
from html.parser import HTMLParser

from tests.hostile.payloads import MARKER

# Attributes that may carry what a person typed, as a value (the browser shows it, never runs it).
VALUE_ATTRIBUTES = {"value", "title", "aria-label", "alt", "placeholder", "content", "data-value"}


URL_ATTRIBUTES = {"href", "hx-get", "data-hx-get", "action"}


def _in_own_query_string(name: str, value: str) -> bool:
    """The input echoed, URL-encoded, in the query string of a link to the portal itself (a search kept in
    the paging links): data, not markup."""
    path = value.partition("?")[0]
    return name in URL_ATTRIBUTES and path.startswith("/") and not path.startswith("//") and MARKER not in path


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        for name, value in attributes.items():
            if name.startswith(("on", "hx-on", "data-hx-on")):
                self.problems.append(f"<{tag} {name}=...>: an event handler attribute")
            if MARKER in name:
                self.problems.append(f"<{tag} {name}>: an attribute made from the input")
            if MARKER in value and name not in VALUE_ATTRIBUTES and not _in_own_query_string(name, value):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>: the input inside a live attribute")
            if name in ("href", "src", "action", "formaction", "hx-get", "hx-post", "data-hx-get", "data-hx-post") and \
                    value.strip().lower().startswith(("javascript:", "data:", "vbscript:")):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>: a script or data link")
        if tag in ("script", "svg", "img", "iframe", "object", "embed") and tag == "script" and "src" not in attributes:
            self.problems.append("an inline <script>")

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def html_problems(html: str) -> list[str]:
    """Elements or attributes that hostile input turned into markup (empty when everything stayed text)."""
    return parse(html).problems


def visible_text(html: str) -> str:
    return "".join(parse(html).text)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
