"""The base of every form of the portal."""
from __future__ import annotations

from flask_wtf import FlaskForm


class PortalForm(FlaskForm):
    """A Flask-WTF form whose hidden inputs (the CSRF token, versions, keys) have no id. A page often holds
    several forms, and each would otherwise render `id="csrf_token"` (or `id="version"`): a duplicate id, which
    is invalid HTML. A hidden input has no label and takes no focus, so nothing refers to it by id."""

    class Meta:
        def render_field(self, field, render_kw):
            if getattr(field.widget, "input_type", None) == "hidden":
                render_kw = {**render_kw, "id": False}  # WTForms leaves out an attribute whose value is False
            return super().render_field(field, render_kw)
