"""Is every main page of the portal usable with a screen reader: no serious or critical axe-core violation, and
every visible form control has a name, for each kind of person who sees it?

One rich world is seeded once for the module: a program with a published template and a draft of the next
version, a pair with a partly filled agreement, a pair in signing, an active pair with meetings, progress,
notes, shares and a request for help, a pair in review, a supervisor, a program admin and a site admin.
"""
from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import accessibility_violations, link_from_outbox, sign_in
from tests.factories import (
    fill_in, make_agreement, make_help_request, make_meeting, make_note, make_pair, make_program,
    make_role, make_share, make_signed_agreement, make_user, sign_as,
)

UNNAMED_CONTROLS = """() => {
    const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
        && getComputedStyle(el).visibility !== 'hidden';
    const named = el => {
        if ((el.getAttribute('aria-label') || '').trim()) return true;
        const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
        if (ids.some(id => (document.getElementById(id)?.textContent || '').trim())) return true;
        if ([...(el.labels || [])].some(label => label.textContent.trim())) return true;
        return !!(el.getAttribute('title') || '').trim();
    };
    return [...document.querySelectorAll('input, select, textarea')]
        .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
        .filter(visible)
        .filter(el => !named(el))
        .map(el => el.outerHTML.slice(0, 160));
}"""


def unnamed_controls(page) -> list[str]:
    """Visible inputs, selects and text areas that have no label, aria-label, aria-labelledby or title."""
    return page.evaluate(UNNAMED_CONTROLS)


@pytest.fixture(scope="module")
def world(live_server):
    """The people and objects every page below needs, created once (the pages only read them)."""
    from portal.domain import lifecycle, progress
    from portal.domain.agreements import read_fields, values_of
    from portal.domain.template_store import definition_of, install_shipped_template, new_draft_version
    from portal.extensions import db

    with live_server.seed():
        program = make_program(name="Accessible Program")  # a code of its own: a worker may build this world twice
        site_admin = make_user(name="Sam Site", site_admin=True)
        program_admin, supervisor = make_user(name="Pat Program"), make_user(name="Sue Supervisor")
        recipient = make_user(name="Rita Recipient")
        make_role(program_admin, program, "admin")
        make_role(supervisor, program, "supervisor")
        published = install_shipped_template(program, "whprms", None)
        draft = new_draft_version(published.template, None)
        db.session.commit()

        draft_pair = make_pair(program, make_user(name="Dana Draft-Mentor"), make_user(name="Dev Draft-Mentee"),
                               supervisors=(supervisor,))
        draft_agreement = make_agreement(draft_pair, published)
        fill_in(draft_agreement, required=False,
                values={"goal": "Lead the falls-prevention committee by spring."})
        note = make_note(draft_pair, draft_pair.mentor, "We talked about the committee's schedule.")
        share = make_share(note, recipient)
        pending = make_share(make_note(draft_pair, draft_pair.mentor, "A second note."), make_user(), approve=False)

        ccmc = install_shipped_template(program, "ccmc", None)
        db.session.commit()
        ccmc_pair = make_pair(program, make_user(name="Cy Ccmc-Mentor"), make_user(name="Cat Ccmc-Mentee"))
        ccmc_agreement = make_agreement(ccmc_pair, ccmc)
        fill_in(ccmc_agreement, required=False, values={"meeting_place_time": "Tuesdays, 8 am, room 4"})

        signing_pair = make_pair(program, make_user(name="Sid Signing-Mentor"), make_user(name="Sal Signing-Mentee"))
        signing_agreement = make_agreement(signing_pair, ccmc)
        fill_in(signing_agreement)
        sign_as(signing_agreement, signing_pair.mentor)

        active_pair = make_pair(program, make_user(name="Ada Active-Mentor"), make_user(name="Abe Active-Mentee"),
                                supervisors=(supervisor,))
        active = make_signed_agreement(active_pair, published)
        make_meeting(active, active_pair.mentee, held_on=date(2026, 1, 12), summary="Went through the calendar.")
        make_meeting(active, active_pair.mentor, held_on=date(2026, 2, 3), mode="phone", minutes=30)
        definition = definition_of(active.template_version)
        values = values_of(read_fields(active, definition, include_pair_only=False))
        progress.check_in(active, definition, values, active_pair.mentee,
                          {"status-goal:0": "in_progress", "comment-goal:0": "Halfway there."})
        db.session.commit()
        make_help_request(active_pair, active_pair.mentee, "Could someone help us find a meeting slot?")

        review_pair = make_pair(program, make_user(name="Rex Review-Mentor"), make_user(name="Ria Review-Mentee"))
        in_review = make_signed_agreement(review_pair, published)
        lifecycle.request_review(in_review, review_pair.mentor, date(2026, 11, 1))
        db.session.commit()

        people = {"site_admin": site_admin.email, "program_admin": program_admin.email,
                  "supervisor": supervisor.email, "recipient": recipient.email,
                  "draft_mentor": draft_pair.mentor.email, "draft_mentee": draft_pair.mentee.email,
                  "ccmc_mentee": ccmc_pair.mentee.email, "signing_mentee": signing_pair.mentee.email, "signing_mentor": signing_pair.mentor.email,
                  "active_mentor": active_pair.mentor.email, "review_mentor": review_pair.mentor.email}
        ids = {"program": program.id, "template": published.template_id, "version": published.id,
               "draft": draft.id, "draft_pair": draft_pair.id, "draft_agreement": draft_agreement.id,
               "note": note.id, "share": share.id, "pending": pending.id,
               "ccmc_agreement": ccmc_agreement.id, "signing_agreement": signing_agreement.id, "active_pair": active_pair.id, "active": active.id,
               "review_pair": review_pair.id, "in_review": in_review.id}
    return {"people": people, "ids": ids}


# Who visits which pages ({name} is filled from the world's ids).
PAGES = {
    "draft_mentor": [
        "/", "/auth/account", "/pairs/{draft_pair}", "/agreements/{draft_agreement}",
        "/agreements/{draft_agreement}/history", "/pairs/{draft_pair}/notes", "/pairs/{draft_pair}/notes/{note}",
        "/pairs/{draft_pair}/notes/{note}/edit", "/pairs/{draft_pair}/notes/{note}/delete",
        "/pairs/{draft_pair}/notes/{note}/share", "/pairs/{draft_pair}/help", "/verify",
    ],
    "draft_mentee": ["/pairs/{draft_pair}/shares/{pending}/approve", "/pairs/{draft_pair}/notes"],
    "ccmc_mentee": ["/agreements/{ccmc_agreement}", "/agreements/{ccmc_agreement}/history"],
    "signing_mentee": ["/agreements/{signing_agreement}"],
    "signing_mentor": ["/agreements/{signing_agreement}", "/"],
    "active_mentor": [
        "/pairs/{active_pair}", "/agreements/{active}", "/agreements/{active}/versions/1",
        "/agreements/{active}/end", "/agreements/{active}/history",
    ],
    "review_mentor": ["/pairs/{review_pair}", "/agreements/{in_review}/review", "/agreements/{in_review}/renew"],
    "recipient": ["/", "/shared/{share}"],
    "supervisor": ["/", "/programs/{program}/dashboard", "/pairs/{active_pair}", "/agreements/{active}"],
    "program_admin": [
        "/", "/programs/{program}", "/programs/{program}/dashboard", "/programs/{program}/settings",
        "/programs/{program}/audit", "/programs/{program}/pairs/new", "/programs/{program}/pairs/import",
        "/programs/{program}/templates", "/programs/{program}/templates/{template}",
        "/programs/{program}/templates/versions/{draft}", "/programs/{program}/templates/versions/{version}",
        "/programs/{program}/templates/versions/{draft}/publish",
        "/programs/{program}/templates/versions/{version}/preview", "/programs/{program}/templates/{template}/diff",
        "/pairs/{active_pair}",
    ],
    "site_admin": ["/", "/admin/programs", "/admin/programs/{program}", "/admin/users", "/admin/audit",
                   "/programs/{program}/audit", "/programs/{program}/settings"],
}


BUILDER_STATES = [
    "edit=text", "edit=section:goals_and_objectives", "edit=field:goal", "edit=field:objectives",
    "edit=field:term_months", "edit=field:meeting_counts", "edit=field:confidentiality", "edit=field:signatures",
] + [f"add=goals_and_objectives&type={kind}" for kind in (
    "short_text", "long_text", "numbered_list", "number", "choice", "meeting_modes", "date", "acknowledgement",
    "clause", "signatures")]


def check_pages(page, paths, statuses=(200,), shows=None) -> list[str]:
    problems = []
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status in statuses, f"{path} answered {response and response.status}"
        if shows:
            expect(page.locator(shows).first).to_be_visible()
        problems += [f"{path}: {violation}" for violation in accessibility_violations(page)]
        problems += [f"{path}: no accessible name for {control}" for control in unnamed_controls(page)]
    return problems


@pytest.mark.parametrize("person", sorted(PAGES))
def test_every_page_is_accessible_to_the_person_who_uses_it(world, open_page, person):
    """Does each page this person uses pass axe-core, with a name for every visible form control?"""
    page = open_page()
    sign_in(page, world["people"][person])
    problems = check_pages(page, [path.format(**world["ids"]) for path in PAGES[person]])
    page.close()  # checked here already: spare the fixture's second axe pass over the same pages
    assert not problems, "\n".join(problems)


def test_every_editor_of_the_template_builder_is_accessible(world, open_page):
    """Does each editor the builder opens (template text, section, each field type, adding each type) pass axe,
    with every input named?"""
    page = open_page()
    sign_in(page, world["people"]["program_admin"])
    base = "/programs/{program}/templates/versions/{draft}".format(**world["ids"])
    problems = check_pages(page, [f"{base}?{state}" for state in BUILDER_STATES], shows="form.editor")
    page.close()
    assert not problems, "\n".join(problems)


def test_pages_before_signing_in_are_accessible(live_server, world, open_page):
    """Are the sign-in, forgot-password, set-password, public PDF check and not-found pages accessible to someone
    signed out?"""
    page = open_page()
    problems = check_pages(page, ["/auth/sign-in", "/auth/forgot-password", "/check-a-pdf"])
    problems += check_pages(page, ["/auth/set-password/not-a-token"], statuses=(410,))
    page.goto("/auth/forgot-password")
    page.get_by_label("E-mail").fill(world["people"]["recipient"])
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#flash")).not_to_be_empty()
    problems += [f"forgot-password sent: {v}" for v in accessibility_violations(page)]
    link = link_from_outbox(live_server.app, world["people"]["recipient"], r"https?://\S+/auth/set-password/\S+")
    problems += check_pages(page, [link.replace(live_server.url, "")])
    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    problems += [f"404: {v}" for v in accessibility_violations(page)]
    assert not problems, "\n".join(problems)


def test_error_pages_for_signed_in_people_are_accessible(world, open_page):
    """Is the page a signed-in person meets for a missing object accessible?"""
    page = open_page()
    sign_in(page, world["people"]["draft_mentor"])
    response = page.goto("/agreements/999999")
    assert response.status == 404
    problems = [f"404: {v}" for v in accessibility_violations(page)]
    assert not problems, "\n".join(problems)


def test_unnamed_control_check_notices_a_bare_input(open_page):
    """Would the direct label check catch an input without a label?"""
    page = open_page()
    page.set_content("<main><label>Named <input id='a'></label><input id='b'><input type='hidden'></main>")
    assert len(unnamed_controls(page)) == 1



def test_choices_and_counts_are_named_by_their_own_labels_inside_a_named_group(world, open_page):
    """Does a screen reader hear each answer of a choice (each meeting count, each item of a list) by its own
    label, inside a group named by the question, rather than the question glued to the first answer or lost?"""
    page = open_page()
    sign_in(page, world["people"]["ccmc_mentee"])
    page.goto("/agreements/{ccmc_agreement}".format(**world["ids"]))
    group = page.get_by_role("radiogroup", name=re.compile("We commit to meet"))
    expect(group).to_be_visible()
    for answer in ("daily", "weekly", "monthly"):
        expect(group.get_by_role("radio", name=answer, exact=True)).to_have_count(1)
    goals = page.get_by_role("group", name=re.compile("What are the mentee's goals"))
    expect(goals.get_by_role("textbox").first).to_have_accessible_name(re.compile(r"^Goal 1$"))
    page.close()
    page = open_page()
    sign_in(page, world["people"]["draft_mentor"])
    page.goto("/agreements/{draft_agreement}".format(**world["ids"]))
    counts = page.get_by_role("group", name=re.compile("We will meet"))
    expect(counts.get_by_role("spinbutton", name="face to face", exact=True)).to_have_count(1)
    page.close()
