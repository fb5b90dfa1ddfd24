"""Outside intervention: a member asks the program for help; the program admin sees who and when, with
only the message written to the program."""
from __future__ import annotations

from portal.extensions import db
from portal.models import AuditEvent, HelpRequest
from tests.factories import outbox, act_as


def test_asking_for_help_tells_the_program_and_shows_on_its_dashboard(world):
    """Does a request reach the program's return address and dashboard with who asked, when and the
    message, and can the admin mark it handled?"""
    page = world.client("mentee").get(f"/pairs/{world.pair.id}/help").get_data(as_text=True)
    assert "NOT confidential" in page and "office@program.example" in page
    response = world.client("mentee").post(f"/pairs/{world.pair.id}/help",
                                           data={"message": "Please call me about our schedule."})
    assert response.status_code == 303
    [mail] = outbox("help_requested", to="office@program.example")
    assert "Nina Mentee" in mail.body and "Please call me about our schedule." in mail.body
    assert "Maria Mentor (mentor) and Nina Mentee (mentee)" in mail.body
    board = world.client("admin").get(f"/programs/{world.program.id}/dashboard").get_data(as_text=True)
    help_section = board.split('id="help-requests"', 1)[1]
    assert "Nina Mentee" in help_section and "Please call me about our schedule." in help_section
    assert "Help asked" in board
    own = world.client("mentor").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert "Nina Mentee asked WHPRMS Mentoring for help" in own
    request = db.session.scalar(db.select(HelpRequest))
    response = world.client("admin").post(f"/programs/{world.program.id}/help/{request.id}/resolve")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(HelpRequest, request.id).resolved_by_id == world.people["admin"].id
    board = world.client("admin").get(f"/programs/{world.program.id}/dashboard").get_data(as_text=True)
    assert "No pair is waiting for help." in board
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "help.requested" in actions and "help.resolved" in actions


def test_a_request_without_a_message_is_fine_and_a_long_one_is_refused(world):
    """Can a member ask without writing anything, and is an over-long message refused with 422?"""
    assert world.client("mentor").post(f"/pairs/{world.pair.id}/help", data={"message": ""}).status_code == 303
    assert "did not write a message" in outbox("help_requested")[0].body
    response = world.client("mentor").post(f"/pairs/{world.pair.id}/help", data={"message": "x" * 2001})
    assert response.status_code == 422 and "keep it to 2,000" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(HelpRequest.id))) == 1


def test_supervisors_do_not_see_requests_for_help(world):
    """Is a request for help the program's: absent from a supervisor's dashboard (no column, no alert)?"""
    world.client("mentee").post(f"/pairs/{world.pair.id}/help", data={"message": "Help"})
    board = world.client("supervisor").get(f"/programs/{world.program.id}/dashboard").get_data(as_text=True)
    assert "Help asked" not in board and 'id="help-requests"' not in board
    assert world.client("supervisor").get(
        f"/programs/{world.program.id}/dashboard?alert=help_asked").status_code == 200


def test_only_the_program_admin_resolves_and_only_their_program(app, world):
    """Is resolving a request a 404 for supervisors and for the admin of another program?"""
    from tests.factories import make_program, make_role, make_user
    world.client("mentee").post(f"/pairs/{world.pair.id}/help", data={"message": ""})
    request = db.session.scalar(db.select(HelpRequest))
    other_program = make_program()
    other_admin = make_user()
    make_role(other_admin, other_program, "admin")
    client = app.test_client()
    act_as(client, other_admin)
    assert client.post(f"/programs/{other_program.id}/help/{request.id}/resolve").status_code == 404
    assert world.client("supervisor").post(f"/programs/{world.program.id}/help/{request.id}/resolve").status_code == 404
    assert db.session.get(HelpRequest, request.id).resolved_at is None


def test_a_closed_mentorship_points_to_the_programs_address_instead(world):
    """Once the mentorship has ended, is help no longer offered on the pair page, does the help page give the
    program's address instead of a form, and is a posted request refused without reaching the program?"""
    assert world.client("mentee").post(f"/agreements/{world.agreement.id}/end", data={"reason": ""}).status_code == 303
    pair_page = world.client("mentee").get(f"/pairs/{world.pair.id}").get_data(as_text=True)
    assert f'href="/pairs/{world.pair.id}/help"' not in pair_page
    page = world.client("mentee").get(f"/pairs/{world.pair.id}/help").get_data(as_text=True)
    assert "This mentorship is closed" in page and 'href="mailto:office@program.example"' in page
    assert '<button type="submit" class="primary">Ask for help</button>' not in page
    response = world.client("mentee").post(f"/pairs/{world.pair.id}/help", data={"message": "Late"},
                                           follow_redirects=True)
    assert "write to office@program.example" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(HelpRequest.id))) == 0
    assert outbox("help_requested") == []
