"""A program admin follows who has joined and sends invitations again (portal.domain.invitations)."""
from __future__ import annotations

import re
from datetime import timedelta

from portal.domain import pairs
from portal.domain.accounts import hash_password
from portal.extensions import db
from portal.models import AccountToken, AuditEvent, Pair, PairSupervisor, RateEvent, User
from portal.timeutil import utcnow
from tests.factories import (
    PASSWORD, act_as, delivered, make_note, make_program, make_role, make_user, make_version, outbox,
)

LINK = re.compile(r"http://localhost(/auth/set-password/[A-Za-z0-9_\-]+)")


def link_in(mail) -> str:
    match = LINK.search(mail.body)
    assert match, mail.body
    return match.group(1)


def invited_pair(mentee_email="new.mentee@example.org"):
    """A pair whose mentor has an account and whose mentee was just invited by the program admin."""
    program = make_program(name="Nurses Mentoring")
    admin = make_user(name="Ada Admin")
    make_role(admin, program, "admin")
    version = make_version(program)
    mentor = make_user(name="Mona Mentor")
    pair = pairs.create_pair(admin, program, pairs.PairRequest(
        mentor_email=mentor.email, mentee_email=mentee_email, mentee_name="Nico Newcomer",
        template_version_id=version.id))
    db.session.commit()
    return program, admin, pair


def page_of(client, program, pair) -> str:
    response = client.get(f"/programs/{program.id}/pairs/{pair.id}/invitations")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def resend(client, program, pair, role="mentee"):
    return client.post(f"/programs/{program.id}/pairs/{pair.id}/invitations/resend", data={"role": role})


def expire_links(user_id: int) -> None:
    for token in db.session.scalars(db.select(AccountToken).where(AccountToken.user_id == user_id)):
        token.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


def test_pair_page_says_who_joined_who_is_invited_and_whose_link_expired(app, client):
    """Does the pair's invitations page say, per person, joined, invited (with the date) or link expired?"""
    program, admin, pair = invited_pair()
    act_as(client, admin)
    page = page_of(client, program, pair)
    today = utcnow().date()
    assert "Joined" in page
    assert f"Invited {today.day} {today:%B %Y}" in page
    expire_links(pair.mentee_id)
    page = page_of(client, program, pair)
    assert f"Link expired (sent {today.day} {today:%B %Y})" in page
    assert "Send the invitation again" in page


def test_program_page_shows_each_pairs_invitations(app, client):
    """Does the program's page show each pair's invitation status, linking to the pair's invitations?"""
    program, admin, pair = invited_pair()
    act_as(client, admin)
    page = client.get(f"/programs/{program.id}").get_data(as_text=True)
    today = utcnow().date()
    assert f"Mentor: Joined; mentee: Invited {today.day} {today:%B %Y}" in page
    assert f"/programs/{program.id}/pairs/{pair.id}/invitations" in page


def test_resend_sends_a_new_link_and_the_old_one_stops_working(app, client):
    """Does sending again mail a new link that works, refuse the old one with what to do, and audit it?"""
    program, admin, pair = invited_pair()
    old_link = link_in(outbox("invite", to="new.mentee@example.org")[-1])
    act_as(client, admin)
    response = resend(client, program, pair)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A new invitation is on its way to Nico Newcomer at new.mentee@example.org" in page
    mails = outbox("invite", to="new.mentee@example.org")
    assert len(mails) == 2
    new_link = link_in(mails[-1])
    assert new_link != old_link
    assert "mentee in Nurses Mentoring" in mails[-1].body and "Ada Admin" in mails[-1].body
    visitor = app.test_client()
    refused = visitor.get(old_link)
    assert refused.status_code == 410
    assert "replaced by a newer one" in refused.get_data(as_text=True)
    assert visitor.get(new_link).status_code == 200
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "account.invitation_resent"))
    assert event is not None and event.actor_id == admin.id and event.program_id == program.id
    assert event.pair_id == pair.id


def test_resend_is_limited_to_once_in_ten_minutes_per_person(app, client):
    """Is a second resend to the same person within 10 minutes refused with a clear message and no mail?"""
    program, admin, pair = invited_pair()
    act_as(client, admin)
    assert resend(client, program, pair).status_code == 303
    response = resend(client, program, pair)
    assert response.status_code == 429
    assert "less than 10 minutes ago" in response.get_data(as_text=True)
    assert len(outbox("invite", to="new.mentee@example.org")) == 2
    for event in db.session.scalars(db.select(RateEvent).where(RateEvent.scope == "invite:resend")):
        event.at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert resend(client, program, pair).status_code == 303
    assert len(outbox("invite", to="new.mentee@example.org")) == 3


def test_resend_to_someone_who_joined_is_refused(app, client):
    """Is there no invitation to resend to a person who already joined, and is that said?"""
    program, admin, pair = invited_pair()
    act_as(client, admin)
    response = resend(client, program, pair, role="mentor")
    assert response.status_code == 422
    assert "Mona Mentor has already joined" in response.get_data(as_text=True)
    assert not outbox("invite", to=pair.mentor.email)


def test_resend_goes_to_the_persons_current_address(app, client):
    """When the invited person's address was corrected, does the new invitation go to the new address only?"""
    program, admin, pair = invited_pair(mentee_email="typo@exmaple.org")
    mentee = db.session.get(User, pair.mentee_id)
    mentee.email = "right@example.org"
    db.session.commit()
    act_as(client, admin)
    assert resend(client, program, pair).status_code == 303
    assert len(delivered("invite", to="right@example.org")) == 1
    assert len(outbox("invite", to="typo@exmaple.org")) == 1  # the first invitation only


def test_resend_mail_carries_no_pair_only_text(app, client):
    """Does the resent invitation carry none of the pair's confidential notes?"""
    program, admin, pair = invited_pair()
    make_note(pair, pair.mentor, "qz7canary-resend the pair's confidential worry")
    act_as(client, admin)
    assert resend(client, program, pair).status_code == 303
    for mail in delivered():
        assert "qz7canary" not in mail.subject + mail.body


def test_a_link_that_expired_after_resend_says_what_to_do(app, client):
    """When the resent link has expired too, does the page say so and how to get a new one?"""
    program, admin, pair = invited_pair()
    act_as(client, admin)
    resend(client, program, pair)
    link = link_in(outbox("invite", to="new.mentee@example.org")[-1])
    expire_links(pair.mentee_id)
    response = app.test_client().get(link)
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This invitation has expired" in page
    assert "Ask your program admin to send it again" in page and "Ask for a new link" in page


def test_another_programs_admin_can_neither_see_nor_resend(app, client):
    """Does a program admin of another program get a 404 for the page and the resend, and nothing is sent?"""
    program, admin, pair = invited_pair()
    stranger = make_user()
    make_role(stranger, make_program(), "admin")
    act_as(client, stranger)
    assert client.get(f"/programs/{program.id}/pairs/{pair.id}/invitations").status_code == 404
    assert resend(client, program, pair).status_code == 404
    assert len(outbox("invite", to="new.mentee@example.org")) == 1


def test_a_pair_of_another_program_is_404_through_my_program(app, client):
    """Can a program admin reach another program's pair by putting their own program in the address?"""
    program, admin, pair = invited_pair()
    _other_program, _other_admin, other_pair = invited_pair(mentee_email="elsewhere@example.org")
    act_as(client, admin)
    assert client.get(f"/programs/{program.id}/pairs/{other_pair.id}/invitations").status_code == 404
    assert resend(client, program, other_pair).status_code == 404


def age_pair(pair_id: int, days: int) -> None:
    db.session.get(Pair, pair_id).created_at = utcnow() - timedelta(days=days)
    db.session.commit()


def test_dashboard_alerts_a_pair_not_joined_after_seven_days(app, client):
    """Does a pair whose mentee has not joined 8 days after it was created show "Not joined" on the dashboard,
    linking to its invitations, while a pair created yesterday does not?"""
    program, admin, pair = invited_pair()
    age_pair(pair.id, 1)
    act_as(client, admin)
    page = client.get(f"/programs/{program.id}/dashboard").get_data(as_text=True)
    assert "send the invitations again" not in page
    age_pair(pair.id, 8)
    page = client.get(f"/programs/{program.id}/dashboard?alert=not_joined").get_data(as_text=True)
    assert "1 pair matches your filters" in page
    assert f'href="/programs/{program.id}/pairs/{pair.id}/invitations"' in page


def test_joined_pairs_raise_no_alert_and_supervisors_see_none(app, client):
    """Does a supervisor never see the alert (resending is not theirs), and is it gone once both have joined?"""
    program, admin, pair = invited_pair()
    supervisor = make_user()
    make_role(supervisor, program, "supervisor")
    pair.supervisor_links.append(PairSupervisor(user_id=supervisor.id))
    db.session.commit()
    age_pair(pair.id, 30)
    act_as(client, supervisor)
    assert "Not joined" not in client.get(f"/programs/{program.id}/dashboard").get_data(as_text=True)
    db.session.get(User, pair.mentee_id).password_hash = hash_password(PASSWORD)
    db.session.commit()
    act_as(client, admin)
    page = client.get(f"/programs/{program.id}/dashboard?alert=not_joined").get_data(as_text=True)
    assert "No pair matches these filters" in page


def test_a_resend_without_a_person_is_explained(app, client):
    """Is a resend that names neither the mentor nor the mentee refused with a message, and nothing sent?"""
    program, admin, pair = invited_pair()
    act_as(client, admin)
    response = resend(client, program, pair, role="supervisor")
    assert response.status_code == 422 and "Choose the mentor or the mentee." in response.get_data(as_text=True)
    assert len(outbox("invite", to="new.mentee@example.org")) == 1
