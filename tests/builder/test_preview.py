"""The builder's preview shows the form as the pair will see it in their editor."""
from __future__ import annotations

import re

from tests.builder.conftest import make_template, small_template
from tests.factories import act_as, make_agreement, make_pair


def list_template(max_items: int) -> dict:
    data = small_template()
    data["sections"][0]["fields"][1] = {"key": "objectives", "type": "numbered_list", "label": "Objectives",
                                        "item_label": "Objective", "min_items": 1, "max_items": max_items}
    return data


def rows_in_editor(client, agreement_id: int) -> int:
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    return len(re.findall(r'name="f-objectives"', page))


def rows_in_preview(client, url: str) -> int:
    page = client.get(url).get_data(as_text=True)
    return len(re.findall(r'id="(?:preview|builder)-objectives-\d+"', page))


def test_a_long_numbered_list_starts_as_short_in_the_preview_as_in_the_editor(builder, app):
    """A list of up to 30 objectives starts with one row in the pair's editor (more appear as they fill it in):
    does the builder's preview show the same single row, not thirty?"""
    published, _ = make_template(builder.program, list_template(30), draft=False)
    pair = make_pair(builder.program)
    agreement = make_agreement(pair, published)
    preview_rows = rows_in_preview(builder.client, builder.version_url(published.id, "/preview"))
    builder_rows = rows_in_preview(builder.client, builder.version_url(published.id))
    member = app.test_client()
    act_as(member, pair.mentor)
    editor_rows = rows_in_editor(member, agreement.id)
    assert editor_rows == 1
    assert preview_rows == editor_rows
    assert builder_rows == editor_rows


def test_a_short_numbered_list_shows_every_row_in_both(builder, app):
    """A list of at most three objectives shows its three rows in the editor: does the preview show three too?"""
    published, _ = make_template(builder.program, list_template(3), draft=False)
    pair = make_pair(builder.program)
    agreement = make_agreement(pair, published)
    member = app.test_client()
    act_as(member, pair.mentor)
    assert rows_in_editor(member, agreement.id) == 3
    assert rows_in_preview(builder.client, builder.version_url(published.id, "/preview")) == 3


def test_the_preview_says_that_more_rows_appear(builder):
    """Does the preview of a long list tell the admin that the pair gets more rows as they fill them in?"""
    published, _ = make_template(builder.program, list_template(30), draft=False)
    page = builder.client.get(builder.version_url(published.id, "/preview")).get_data(as_text=True)
    assert "more rows appear" in page
