"""The authorization walk: every route of the app, every method, as every kind of person.

Each route has its expected answer per actor written down here. A route missing from ROUTES fails the suite,
so a new route cannot ship without a decision about who may use it. No answer may be a 500.

Expectations: ALLOW (the person gets the page or their action is handled: anything but 401/403/404/5xx and
not the sign-in redirect), DENY (404: a foreign object looks like a missing one), SIGN_IN (anonymous: sent to
sign in), REFUSED (403: the person can see the object but this action is not theirs to take, such as
approving a note share they proposed themselves).
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import event

from portal.domain import notes
from portal.domain.template_store import install_shipped_template, new_draft_version
from portal.extensions import db
from portal.models import Agreement
from tests.factories import (
    make_agreement, make_help_request, make_meeting, make_note, make_pair, make_program, make_role, make_share,
    make_signed_agreement, make_user, act_as,
)

ALLOW, DENY, SIGN_IN, REFUSED = "allow", "deny", "sign-in", "refused"

ACTORS = (
    "anonymous", "site_admin", "program_admin", "other_program_admin", "supervisor", "other_supervisor",
    "mentor", "mentee", "other_mentor", "deactivated",
    "recipient",            # reads one note of the pair, shared by the mentor and approved by the mentee
    "withdrawn_recipient",  # had a note of the pair shared with them, then withdrawn
)


@dataclass
class World:
    ids: dict
    people: dict


@pytest.fixture
def world(app) -> World:
    program, other_program = make_program(code="AAA"), make_program(code="BBB")
    people = {
        "site_admin": make_user(site_admin=True),
        "program_admin": make_user(), "other_program_admin": make_user(),
        "supervisor": make_user(), "other_supervisor": make_user(),
        "mentor": make_user(), "mentee": make_user(), "other_mentor": make_user(), "other_mentee": make_user(),
        "deactivated": make_user(deactivated=True),
        "bystander": make_user(),  # the target of account actions, so that no actor is locked out mid-walk
        "recipient": make_user(), "withdrawn_recipient": make_user(), "pending_recipient": make_user(),
    }
    make_role(people["program_admin"], program, "admin")
    make_role(people["other_program_admin"], other_program, "admin")
    supervisor_role = make_role(people["supervisor"], program, "supervisor")
    make_role(people["other_supervisor"], program, "supervisor")
    pair = make_pair(program, people["mentor"], people["mentee"], supervisors=(people["supervisor"],))
    other_pair = make_pair(program, people["other_mentor"], people["other_mentee"])
    published = install_shipped_template(program, "whprms", None)  # version 1, published
    draft = new_draft_version(published.template, None)             # version 2, a draft
    db.session.commit()
    agreement = make_agreement(pair, published)
    make_agreement(other_pair, version=published)
    meeting = make_meeting(agreement, people["mentor"])
    help_request = make_help_request(pair, people["mentee"])
    note = make_note(pair, people["mentor"], "The pair's confidential note.")
    share = make_share(note, people["recipient"])  # proposed by the mentor, approved by the mentee
    withdrawn_share = make_share(note, people["withdrawn_recipient"])
    notes.withdraw_share(people["mentee"], withdrawn_share)
    db.session.commit()
    pending_share = make_share(note, people["pending_recipient"], approve=False)  # awaits the mentee
    other_note = make_note(other_pair, people["other_mentor"], "The other pair's note.")
    ids = {"agreement": agreement.id, "program": program.id, "other_program": other_program.id, "pair": pair.id,
           "other_pair": other_pair.id, "supervisor_role": supervisor_role.id,
           "user": people["bystander"].id, "supervisor_user": people["supervisor"].id, "template": published.template_id, "version": published.id,
           "draft": draft.id, "note": note.id, "share": share.id, "meeting": meeting.id,
           "help_request": help_request.id,
           "withdrawn_share": withdrawn_share.id, "pending_share": pending_share.id, "other_note": other_note.id}
    return World(ids=ids, people=people)


def everyone(expectation, **overrides):
    table = {actor: expectation for actor in ACTORS}
    table["anonymous"] = SIGN_IN
    table["deactivated"] = SIGN_IN  # a deactivated person cannot sign in, so they are anonymous
    table.update(overrides)
    return table


PUBLIC_PAGE = {actor: ALLOW for actor in ACTORS}
SIGNED_IN = everyone(ALLOW)
SITE_ADMIN_ONLY = everyone(DENY, site_admin=ALLOW)
PROGRAM_ADMIN_ONLY = everyone(DENY, program_admin=ALLOW)
PAIR_MEMBERS = everyone(DENY, mentor=ALLOW, mentee=ALLOW)
PAIR_FOLLOWERS = everyone(DENY, mentor=ALLOW, mentee=ALLOW, supervisor=ALLOW, program_admin=ALLOW)
# Pair-only content: the two members and nobody else (no admin, supervisor or recipient bypass).
MEMBERS_ONLY = everyone(DENY, mentor=ALLOW, mentee=ALLOW)
# The second key: only the member who did not propose the share (the world's pending share is the mentor's).
OTHER_MEMBER_DECIDES = everyone(DENY, mentor=REFUSED, mentee=ALLOW)
RECIPIENT_ONLY = everyone(DENY, recipient=ALLOW)
# The program's dashboard: its admins (every pair) and its supervisors (their own pairs, even none).
PROGRAM_FOLLOWERS = everyone(DENY, program_admin=ALLOW, supervisor=ALLOW, other_supervisor=ALLOW)
PROGRAM_OR_SITE_ADMIN = everyone(DENY, program_admin=ALLOW, site_admin=ALLOW)

# (method, url, expectations). Every (endpoint, method) of the app appears here.
ROUTES: dict[tuple[str, str], tuple[str, dict]] = {
    ("auth.sign_in", "GET"): ("/auth/sign-in", PUBLIC_PAGE),
    ("auth.sign_in", "POST"): ("/auth/sign-in", PUBLIC_PAGE),
    ("auth.sign_out", "POST"): ("/auth/sign-out", SIGNED_IN),
    ("auth.forgot_password", "GET"): ("/auth/forgot-password", PUBLIC_PAGE),
    ("auth.forgot_password", "POST"): ("/auth/forgot-password", PUBLIC_PAGE),
    ("auth.set_password", "GET"): ("/auth/set-password/not-a-real-token", PUBLIC_PAGE),
    ("auth.set_password", "POST"): ("/auth/set-password/not-a-real-token", PUBLIC_PAGE),
    ("main.home", "GET"): ("/", SIGNED_IN),
    # Load balancers and systemd: no session, and nothing but "ok"/"ready" or "not ready" (tests/test_operations).
    ("health.healthz", "GET"): ("/healthz", PUBLIC_PAGE),
    ("health.readyz", "GET"): ("/readyz", PUBLIC_PAGE),
    ("auth.account", "GET"): ("/auth/account", SIGNED_IN),
    ("auth.change_name", "POST"): ("/auth/account/name", SIGNED_IN),
    ("auth.change_password", "POST"): ("/auth/account/password", SIGNED_IN),
    ("auth.change_email", "POST"): ("/auth/account/email", SIGNED_IN),
    ("auth.cancel_email_change", "POST"): ("/auth/account/email/cancel", SIGNED_IN),
    # The link mailed to a new address: anyone may open it (a bad token is a 410 for everyone).
    ("auth.confirm_email", "GET"): ("/auth/confirm-email/not-a-real-token", PUBLIC_PAGE),
    ("auth.confirm_email", "POST"): ("/auth/confirm-email/not-a-real-token", PUBLIC_PAGE),
    ("admin.program_list", "GET"): ("/admin/programs", SITE_ADMIN_ONLY),
    ("admin.program_list", "POST"): ("/admin/programs", SITE_ADMIN_ONLY),
    ("admin.program_detail", "GET"): ("/admin/programs/{program}", SITE_ADMIN_ONLY),
    ("admin.program_detail", "POST"): ("/admin/programs/{program}", SITE_ADMIN_ONLY),
    ("admin.appoint_admin", "POST"): ("/admin/programs/{program}/admins", SITE_ADMIN_ONLY),
    ("admin.revoke_role", "POST"): ("/admin/programs/{program}/roles/{supervisor_role}/revoke", SITE_ADMIN_ONLY),
    ("admin.user_list", "GET"): ("/admin/users", SITE_ADMIN_ONLY),
    ("admin.deactivate_user", "POST"): ("/admin/users/{user}/deactivate", SITE_ADMIN_ONLY),
    ("admin.reactivate_user", "POST"): ("/admin/users/{user}/reactivate", SITE_ADMIN_ONLY),
    ("programs.overview", "GET"): ("/programs/{program}", PROGRAM_ADMIN_ONLY),
    ("programs.appoint_supervisor", "POST"): ("/programs/{program}/supervisors", PROGRAM_ADMIN_ONLY),
    ("programs.revoke_role", "POST"): ("/programs/{program}/roles/{supervisor_role}/revoke", PROGRAM_ADMIN_ONLY),
    ("programs.new_pair", "GET"): ("/programs/{program}/pairs/new", PROGRAM_ADMIN_ONLY),
    ("programs.new_pair", "POST"): ("/programs/{program}/pairs/new", PROGRAM_ADMIN_ONLY),
    ("programs.import_pairs", "GET"): ("/programs/{program}/pairs/import", PROGRAM_ADMIN_ONLY),
    ("programs.import_pairs", "POST"): ("/programs/{program}/pairs/import", PROGRAM_ADMIN_ONLY),
    ("programs.confirm_import", "POST"): ("/programs/{program}/pairs/import/confirm", PROGRAM_ADMIN_ONLY),
    ("programs.import_sample", "GET"): ("/programs/{program}/pairs/import/sample.csv", PROGRAM_ADMIN_ONLY),
    # A pair's changes after creation (issue 23): its program's admins only; a foreign pair id is a 404.
    ("programs.manage_pair", "GET"): ("/programs/{program}/pairs/{pair}", PROGRAM_ADMIN_ONLY),
    ("programs.assign_pair_supervisor", "POST"): ("/programs/{program}/pairs/{pair}/supervisors", PROGRAM_ADMIN_ONLY),
    ("programs.unassign_pair_supervisor", "POST"): ("/programs/{program}/pairs/{pair}/supervisors/{supervisor_user}/unassign",
                                                    PROGRAM_ADMIN_ONLY),
    ("programs.bulk_supervisors", "POST"): ("/programs/{program}/pairs/supervisors", PROGRAM_ADMIN_ONLY),
    ("programs.change_term", "POST"): ("/programs/{program}/pairs/{pair}/term", PROGRAM_ADMIN_ONLY),
    ("programs.move_template", "GET"): ("/programs/{program}/pairs/{pair}/template", PROGRAM_ADMIN_ONLY),
    ("programs.move_template", "POST"): ("/programs/{program}/pairs/{pair}/template", PROGRAM_ADMIN_ONLY),
    ("programs.remove_pair", "GET"): ("/programs/{program}/pairs/{pair}/remove", PROGRAM_ADMIN_ONLY),
    ("programs.remove_pair", "POST"): ("/programs/{program}/pairs/{pair}/remove", PROGRAM_ADMIN_ONLY),
    ("programs.basics", "GET"): ("/programs/{program}/basics", PROGRAM_ADMIN_ONLY),
    ("programs.basics", "POST"): ("/programs/{program}/basics", PROGRAM_ADMIN_ONLY),
    ("programs.pair_invitations", "GET"): ("/programs/{program}/pairs/{pair}/invitations", PROGRAM_ADMIN_ONLY),
    # Without a role (the walk sends no form), the program admin is asked to choose one (handled, 422).
    ("programs.resend_invitation", "POST"): ("/programs/{program}/pairs/{pair}/invitations/resend",
                                             PROGRAM_ADMIN_ONLY),
    ("agreements.pair", "GET"): ("/pairs/{pair}", PAIR_FOLLOWERS),
    ("agreements.show", "GET"): ("/agreements/{agreement}", PAIR_FOLLOWERS),
    ("agreements.save_all", "POST"): ("/agreements/{agreement}", PAIR_MEMBERS),
    ("agreements.field_block", "GET"): ("/agreements/{agreement}/fields/goal", PAIR_MEMBERS),
    ("agreements.save_field", "POST"): ("/agreements/{agreement}/fields/goal", PAIR_MEMBERS),
    ("agreements.changes", "GET"): ("/agreements/{agreement}/changes?since=0&state=draft", PAIR_MEMBERS),
    ("agreements.presence", "POST"): ("/agreements/{agreement}/presence", PAIR_MEMBERS),
    ("agreements.leave_page", "POST"): ("/agreements/{agreement}/presence/leave", PAIR_MEMBERS),
    ("agreements.history", "GET"): ("/agreements/{agreement}/history", PAIR_MEMBERS),
    # The template area: the program's admins only (the site admin is no program admin of it).
    ("builder.index", "GET"): ("/programs/{program}/templates", PROGRAM_ADMIN_ONLY),
    ("builder.create_template", "POST"): ("/programs/{program}/templates", PROGRAM_ADMIN_ONLY),
    ("builder.import_template", "POST"): ("/programs/{program}/templates/import", PROGRAM_ADMIN_ONLY),
    ("builder.set_default_template", "POST"): ("/programs/{program}/templates/default", PROGRAM_ADMIN_ONLY),
    ("builder.add_shipped_template", "POST"): ("/programs/{program}/templates/shipped", PROGRAM_ADMIN_ONLY),
    ("builder.template_detail", "GET"): ("/programs/{program}/templates/{template}", PROGRAM_ADMIN_ONLY),
    ("builder.new_draft", "POST"): ("/programs/{program}/templates/{template}/drafts", PROGRAM_ADMIN_ONLY),
    ("builder.diff", "GET"): ("/programs/{program}/templates/{template}/diff", PROGRAM_ADMIN_ONLY),
    ("builder.version", "GET"): ("/programs/{program}/templates/versions/{draft}", PROGRAM_ADMIN_ONLY),
    ("builder.publish_version", "POST"): ("/programs/{program}/templates/versions/{draft}/publish",
                                          PROGRAM_ADMIN_ONLY),
    ("builder.publish_check", "GET"): ("/programs/{program}/templates/versions/{draft}/publish",
                                       PROGRAM_ADMIN_ONLY),
    ("builder.republish_version", "POST"): ("/programs/{program}/templates/versions/{version}/republish",
                                            PROGRAM_ADMIN_ONLY),
    ("builder.retire_version", "POST"): ("/programs/{program}/templates/versions/{version}/retire",
                                         PROGRAM_ADMIN_ONLY),
    ("builder.discard_draft", "POST"): ("/programs/{program}/templates/versions/{draft}/discard",
                                        PROGRAM_ADMIN_ONLY),
    ("builder.export_version", "GET"): ("/programs/{program}/templates/versions/{version}/export",
                                        PROGRAM_ADMIN_ONLY),
    ("builder.preview", "GET"): ("/programs/{program}/templates/versions/{version}/preview", PROGRAM_ADMIN_ONLY),
    ("builder.preview_pdf", "GET"): ("/programs/{program}/templates/versions/{version}/preview.pdf",
                                     PROGRAM_ADMIN_ONLY),
    ("builder.edit_text", "POST"): ("/programs/{program}/templates/versions/{draft}/text", PROGRAM_ADMIN_ONLY),
    ("builder.add_section", "POST"): ("/programs/{program}/templates/versions/{draft}/sections",
                                      PROGRAM_ADMIN_ONLY),
    ("builder.edit_section", "POST"): ("/programs/{program}/templates/versions/{draft}/sections/signing",
                                       PROGRAM_ADMIN_ONLY),
    ("builder.move_section", "POST"): ("/programs/{program}/templates/versions/{draft}/sections/signing/move",
                                       PROGRAM_ADMIN_ONLY),
    ("builder.remove_section", "POST"): ("/programs/{program}/templates/versions/{draft}/sections/signing/remove",
                                         PROGRAM_ADMIN_ONLY),
    ("builder.add_field", "POST"): ("/programs/{program}/templates/versions/{draft}/sections/signing/fields",
                                    PROGRAM_ADMIN_ONLY),
    ("builder.edit_field", "POST"): ("/programs/{program}/templates/versions/{draft}/fields/goal",
                                     PROGRAM_ADMIN_ONLY),
    ("builder.move_field", "POST"): ("/programs/{program}/templates/versions/{draft}/fields/goal/move",
                                     PROGRAM_ADMIN_ONLY),
    ("builder.remove_field", "POST"): ("/programs/{program}/templates/versions/{draft}/fields/goal/remove",
                                       PROGRAM_ADMIN_ONLY),
    ("notes.notebook", "GET"): ("/pairs/{pair}/notes", MEMBERS_ONLY),
    ("notes.search_notes", "POST"): ("/pairs/{pair}/notes/search", MEMBERS_ONLY),
    ("notes.create_note", "POST"): ("/pairs/{pair}/notes", MEMBERS_ONLY),
    ("notes.note", "GET"): ("/pairs/{pair}/notes/{note}", MEMBERS_ONLY),
    ("notes.edit_note", "GET"): ("/pairs/{pair}/notes/{note}/edit", MEMBERS_ONLY),
    ("notes.edit_note", "POST"): ("/pairs/{pair}/notes/{note}/edit", MEMBERS_ONLY),
    ("notes.delete_note", "GET"): ("/pairs/{pair}/notes/{note}/delete", MEMBERS_ONLY),
    ("notes.delete_note", "POST"): ("/pairs/{pair}/notes/{note}/delete", MEMBERS_ONLY),
    ("notes.propose_share", "GET"): ("/pairs/{pair}/notes/{note}/share", MEMBERS_ONLY),
    ("notes.propose_share", "POST"): ("/pairs/{pair}/notes/{note}/share", MEMBERS_ONLY),
    ("notes.approve_share", "GET"): ("/pairs/{pair}/shares/{pending_share}/approve", OTHER_MEMBER_DECIDES),
    ("notes.approve_share", "POST"): ("/pairs/{pair}/shares/{pending_share}/approve", OTHER_MEMBER_DECIDES),
    ("notes.decline_share", "POST"): ("/pairs/{pair}/shares/{pending_share}/decline", OTHER_MEMBER_DECIDES),
    ("notes.withdraw_share", "POST"): ("/pairs/{pair}/shares/{share}/withdraw", MEMBERS_ONLY),
    ("notes.shared_note", "GET"): ("/shared/{share}", RECIPIENT_ONLY),
    # Signing: only the pair signs, declines or reopens (an empty form is answered with its problem, not a 404).
    ("agreements.sign", "POST"): ("/agreements/{agreement}/sign", PAIR_MEMBERS),
    ("agreements.decline", "POST"): ("/agreements/{agreement}/decline", PAIR_MEMBERS),
    ("agreements.reopen", "POST"): ("/agreements/{agreement}/reopen", PAIR_MEMBERS),
    # Signed versions: followers read them and get the program's copy; the pair's copy is the pair's alone.
    ("agreements.signed_version", "GET"): ("/agreements/{signed_agreement}/versions/1", PAIR_FOLLOWERS),
    ("agreements.program_copy_pdf", "GET"): ("/agreements/{signed_agreement}/versions/1/program-copy.pdf",
                                             PAIR_FOLLOWERS),
    ("agreements.pair_copy_pdf", "GET"): ("/agreements/{signed_agreement}/versions/1/pair-copy.pdf", PAIR_MEMBERS),
    # Anyone signed in may check a PDF or a hash; the answer reveals no content.
    ("agreements.verify", "GET"): ("/verify", SIGNED_IN),
    ("agreements.verify", "POST"): ("/verify", SIGNED_IN),
    ("agreements.check_public", "GET"): ("/check-a-pdf", PUBLIC_PAGE),
    ("agreements.check_public", "POST"): ("/check-a-pdf", PUBLIC_PAGE),
    # The mentorship's life: only the two members act on it (supervisors and admins follow it read-only).
    ("lifecycle.log_meeting", "POST"): ("/agreements/{agreement}/meetings", PAIR_MEMBERS),
    ("lifecycle.delete_meeting", "POST"): ("/agreements/{agreement}/meetings/{meeting}/delete", PAIR_MEMBERS),
    ("lifecycle.plan_meeting", "POST"): ("/agreements/{agreement}/meetings/plan", PAIR_MEMBERS),
    ("lifecycle.schedule", "GET"): ("/agreements/{agreement}/schedule.ics", PAIR_MEMBERS),
    ("lifecycle.check_in", "POST"): ("/agreements/{agreement}/progress", PAIR_MEMBERS),
    ("lifecycle.start_review", "POST"): ("/agreements/{agreement}/review/start", PAIR_MEMBERS),
    ("lifecycle.withdraw_review", "POST"): ("/agreements/{agreement}/review/withdraw", PAIR_MEMBERS),
    ("lifecycle.review", "GET"): ("/agreements/{agreement}/review", PAIR_MEMBERS),
    ("lifecycle.review", "POST"): ("/agreements/{agreement}/review", PAIR_MEMBERS),
    ("lifecycle.complete", "POST"): ("/agreements/{agreement}/complete", PAIR_MEMBERS),
    ("lifecycle.end", "GET"): ("/agreements/{agreement}/end", PAIR_MEMBERS),
    ("lifecycle.end", "POST"): ("/agreements/{agreement}/end", PAIR_MEMBERS),
    ("lifecycle.renew", "GET"): ("/agreements/{agreement}/renew", PAIR_MEMBERS),
    ("lifecycle.renew", "POST"): ("/agreements/{agreement}/renew", PAIR_MEMBERS),
    ("lifecycle.confirm_goals", "POST"): ("/agreements/{agreement}/goals/confirm", PAIR_MEMBERS),
    ("lifecycle.ask_for_help", "GET"): ("/pairs/{pair}/help", PAIR_MEMBERS),
    ("lifecycle.ask_for_help", "POST"): ("/pairs/{pair}/help", PAIR_MEMBERS),
    ("lifecycle.export", "GET"): ("/pairs/{pair}/export.json", PAIR_MEMBERS),
    ("dashboards.dashboard", "GET"): ("/programs/{program}/dashboard", PROGRAM_FOLLOWERS),
    ("dashboards.dashboard_csv", "GET"): ("/programs/{program}/dashboard.csv", PROGRAM_FOLLOWERS),
    ("dashboards.resolve_help", "POST"): ("/programs/{program}/help/{help_request}/resolve", PROGRAM_ADMIN_ONLY),
    ("dashboards.program_audit", "GET"): ("/programs/{program}/audit", PROGRAM_OR_SITE_ADMIN),
    ("dashboards.site_audit", "GET"): ("/admin/audit", SITE_ADMIN_ONLY),
    ("dashboards.settings", "GET"): ("/programs/{program}/settings", PROGRAM_OR_SITE_ADMIN),
    ("dashboards.settings", "POST"): ("/programs/{program}/settings", PROGRAM_OR_SITE_ADMIN),
}


def app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((rule.endpoint, method))
    return routes


def test_every_route_has_expectations(app):
    """Is every route of the app (every method) in the authorization table, and nothing stale in it?"""
    routes = app_routes(app)
    assert sorted(routes - ROUTES.keys()) == [], "add these routes to ROUTES with an expectation per actor"
    assert sorted(ROUTES.keys() - routes) == [], "these ROUTES entries no longer exist"


def check(response, expectation: str, label: str) -> None:
    status = response.status_code
    location = response.headers.get("Location", "")
    assert status < 500, f"{label}: {status}"
    if expectation == DENY:
        assert status == 404, f"{label}: expected 404, got {status}"
    elif expectation == REFUSED:
        assert status == 403, f"{label}: expected 403, got {status}"
    elif expectation == SIGN_IN:
        assert status == 303 and location.startswith("/auth/sign-in"), f"{label}: expected sign-in, got {status}"
    else:
        assert status not in (401, 403, 404), f"{label}: expected access, got {status}"
        assert not location.startswith("/auth/sign-in") or label.startswith("auth."), f"{label}: sent to sign in"


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda route: f"{route[1]} {route[0]}")
def test_route_answers_each_actor_as_written(app, world, route):
    """Does this route answer every kind of person exactly as the table says (and never with a 500)?"""
    url_template, expectations = ROUTES[route]
    if "{signed_agreement}" in url_template:  # an active agreement with a signed version (signing renders PDFs:
        agreement = db.session.get(Agreement, world.ids["agreement"])  # made only for the routes that need it)
        world.ids["signed_agreement"] = make_signed_agreement(agreement.pair, agreement.template_version).id
    url = url_template.format(**world.ids)
    endpoint, method = route
    for actor in ACTORS:
        client = app.test_client()
        if actor not in ("anonymous", "deactivated"):
            act_as(client, world.people[actor])
        elif actor == "deactivated":
            act_as(client, world.people[actor])
        statements: list[str] = []
        listener = lambda *args, seen=statements: seen.append(args[2].lstrip().upper())  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = client.open(url, method=method, data={} if method == "POST" else None)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        label = f"{endpoint} {method} as {actor}"
        check(response, expectations[actor], label)
        writes = [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))]
        if method == "GET":
            # No GET changes state. The writes allowed are the audit entry of a refused request and the record
            # of a PDF the portal issued (its hash, so that "Check a signed PDF" recognises the file).
            assert all(s.startswith(("INSERT INTO AUDIT_EVENT", "INSERT INTO ISSUED_FILE")) for s in writes), \
                f"{label} wrote: {writes}"
        if expectations[actor] == DENY:
            assert any(s.startswith("INSERT INTO AUDIT_EVENT") for s in writes), f"{label}: refusal not audited"
