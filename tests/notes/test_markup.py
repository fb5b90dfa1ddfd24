"""The note format: a tiny Markdown subset, escaped before anything else."""
from __future__ import annotations

import re

import pytest

from portal.domain.note_markup import render_note

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "li"}


def tags(html: str) -> list[str]:
    return re.findall(r"</?([a-zA-Z0-9]+)", html)


def assert_well_nested(html: str) -> None:
    stack = []
    for closing, name in re.findall(r"<(/?)([a-z]+)", html):
        if name == "br":
            continue
        if closing:
            assert stack and stack.pop() == name, html
        else:
            stack.append(name)
    assert stack == [], html


def test_paragraphs_and_line_breaks():
    """Do blank lines separate paragraphs while single line breaks stay line breaks?"""
    assert render_note("first line\nsecond line\n\nnew paragraph") == (
        "<p>first line<br>\nsecond line</p>\n<p>new paragraph</p>")


def test_windows_line_endings_are_the_same_as_unix_ones():
    """Does text pasted with CR LF line endings render like text typed with LF?"""
    assert render_note("a\r\nb\r\n\r\nc") == render_note("a\nb\n\nc")


def test_bold_italic_and_both():
    """Are **bold**, *italic* and ***both*** rendered, properly nested?"""
    assert render_note("**bold** and *italic*") == "<p><strong>bold</strong> and <em>italic</em></p>"
    assert render_note("***both***") == "<p><strong><em>both</em></strong></p>"
    assert render_note("**a *b* c**") == "<p><strong>a <em>b</em> c</strong></p>"


def test_bullet_lists_between_paragraphs():
    """Do consecutive '- ' lines become one list, with paragraphs around it?"""
    html = render_note("Goals:\n- listen **more**\n- ask *why*\nThat is all.")
    assert html == ("<p>Goals:</p>\n<ul>\n<li>listen <strong>more</strong></li>\n<li>ask <em>why</em></li>\n</ul>\n"
                    "<p>That is all.</p>")


@pytest.mark.parametrize("text", ["2 * 3 * 4 = 24", "a*b*c", "file_*name*s", "** not bold **", "lone * star",
                                  "-not a bullet", "* not a bullet either"])
def test_asterisks_that_are_not_emphasis_stay_as_typed(text):
    """Are arithmetic, words with asterisks inside and spaced markers left exactly as typed?"""
    html = render_note(text)
    assert "<strong>" not in html and "<em>" not in html and "<li>" not in html
    assert html == f"<p>{text}</p>"


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "**<b onclick=alert(1)>x</b>**",
    "- <a href='javascript:alert(1)'>list</a>",
    "[a link](https://evil.example) and https://evil.example and <https://evil.example>",
    "![image](https://evil.example/x.png)",
    "# heading\n> quote\n`code`",
    "&lt;already escaped&gt; & \"quotes\" 'single'",
])
def test_nothing_outside_the_subset_becomes_markup(text):
    """Can any HTML, link, image or other Markdown produce a tag or attribute outside the subset?"""
    html = render_note(text)
    assert set(tags(html)) <= ALLOWED_TAGS
    # Every raw "<" starts one of the subset's bare tags: no attribute can exist anywhere.
    assert re.findall(r"<[^>]*>", html) == re.findall(r"</?(?:p|br|strong|em|ul|li)>", html)


def test_text_is_escaped_exactly_once():
    """Is an ampersand shown as typed (escaped once, not twice or zero times)?"""
    assert render_note("Tom & Jerry <3") == "<p>Tom &amp; Jerry &lt;3</p>"


@pytest.mark.parametrize("text", ["**a *b** c*", "*a **b* c**", "****x****", "***a** b*", "**a\nb**",
                                  "- **open\n- close**", "*" * 50, "**" + "*a* " * 20 + "**"])
def test_any_mix_of_markers_gives_well_nested_html(text):
    """However the asterisks are mixed, is every opened tag closed in order (no broken page)?"""
    assert_well_nested(render_note(text))


def test_empty_and_blank_text():
    """Does blank text render as nothing (not an empty paragraph)?"""
    assert render_note("") == "" and render_note("\n \n") == ""
