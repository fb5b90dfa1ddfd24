"""Read the forms of a page the way a browser without JavaScript would submit them."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(attrs.get("action", ""), attrs.get("method", "get").lower(), attrs=attrs)
            self.forms.append(self._form)
        elif self._form is not None and tag == "input" and attrs.get("name"):
            if attrs.get("type") not in ("submit", "button", "checkbox", "radio") or "checked" in attrs:
                self._form.fields[attrs["name"]] = attrs.get("value", "")
        elif self._form is not None and tag == "textarea":
            self._textarea = attrs.get("name")
            self._form.fields[self._textarea] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._form is not None and self._textarea:
            # Browsers drop the newline right after <textarea>.
            value = self._form.fields[self._textarea]
            self._form.fields[self._textarea] = value[1:] if value.startswith("\n") else value
            self._textarea = None
        elif tag == "form":
            self._form = None


def forms_on(page: str) -> list[Form]:
    parser = _Parser()
    parser.feed(page)
    return parser.forms


def form_posting_to(page: str, action: str) -> Form:
    matches = [form for form in forms_on(page) if form.action == action and form.method == "post"]
    assert len(matches) == 1, f"expected one form posting to {action}, found {len(matches)}"
    return matches[0]


def submit(client, page: str, action: str, **values):
    """Post the form as a browser without JavaScript would: its own fields (CSRF token included), no htmx
    header and no token added by the test client. `values` fill in or replace fields by name."""
    form = form_posting_to(page, action)
    assert all(name in form.fields for name in values), f"{set(values) - set(form.fields)} not in the form"
    return client.post(action, data={**form.fields, **values}, csrf=False)
