"""Invitations after the fact: whether each person of a pair has joined, and sending an invitation again.

A person has joined once they set a password through their link. Until then they are "invited" while their
newest invitation link works, and their link has "expired" after that (or when they never had one)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from portal import audit, ratelimit
from portal.domain.accounts import AccountError, RateLimited, issue_token, link_for
from portal.extensions import db
from portal.mail import queue_mail
from portal.models import AccountToken, Pair, Program, User
from portal.timeutil import shown_day, utcnow

# A pair whose members have not all joined this many days after it was created raises the "Not joined"
# alert on the dashboard (an invitation link works 72 hours: by then it has expired twice over).
NOT_JOINED_DAYS = 7
RESEND_MINUTES = 10   # at most one resent invitation per person in this many minutes
RESEND_SCOPE = "invite:resend"


@dataclass(frozen=True)
class InvitationStatus:
    state: str                         # "joined", "invited" or "expired"
    invited_at: datetime | None = None  # when the newest link was sent
    expires_at: datetime | None = None

    @property
    def shown(self) -> str:
        """What the program admin reads: "Joined", "Invited 3 December 2026", "Link expired (sent ...)"."""
        if self.state == "joined":
            return "Joined"
        if self.invited_at is None:
            return "Link expired"
        sent = shown_day(self.invited_at.date())
        return f"Invited {sent}" if self.state == "invited" else f"Link expired (sent {sent})"


def statuses(people: list[User], now: datetime | None = None) -> dict[int, InvitationStatus]:
    """Each person's invitation status by id, in one query for those who have not joined."""
    now = now or utcnow()
    waiting = [person.id for person in people if person.password_hash is None]
    newest: dict[int, AccountToken] = {}
    if waiting:
        for token in db.session.scalars(select(AccountToken).where(
                AccountToken.user_id.in_(waiting), AccountToken.purpose == "invite",
                AccountToken.used_at.is_(None)).order_by(AccountToken.id)):
            newest[token.user_id] = token
    found = {}
    for person in people:
        if person.password_hash is not None:
            found[person.id] = InvitationStatus("joined")
            continue
        token = newest.get(person.id)
        if token is None:
            found[person.id] = InvitationStatus("expired")
        else:
            found[person.id] = InvitationStatus("invited" if token.expires_at >= now else "expired",
                                                token.created_at, token.expires_at)
    return found


def pair_member(pair: Pair, role: str) -> User:
    if role == "mentor":
        return pair.mentor
    if role == "mentee":
        return pair.mentee
    raise AccountError("Choose the mentor or the mentee.")


def resend(actor: User, program: Program, pair: Pair, role: str) -> User:
    """Send the pair's mentor or mentee a new invitation link, to the address their account has now; the
    earlier link stops working. Refused for someone who has joined, and more than once in RESEND_MINUTES."""
    person = pair_member(pair, role)
    if person.is_deactivated:
        raise AccountError(f"{person.name}'s account is deactivated. A site administrator can reactivate it.")
    if person.password_hash is not None:
        raise AccountError(f"{person.name} has already joined; there is no invitation to send again.")
    if not ratelimit.take(RESEND_SCOPE, str(person.id), 1, RESEND_MINUTES):
        raise RateLimited(f"An invitation was sent to {person.name} less than {RESEND_MINUTES} minutes ago. "
                          "Give them time to find it (and to look in their spam folder), then try again.")
    raw = issue_token(person, "invite")
    queue_mail(person.email, "invite", "Your invitation to the Mentorship Portal", "invite.txt",
               user=person, inviter=actor, reason=f"{role} in {program.name}", link=link_for(raw),
               hours=current_app.config["TOKEN_HOURS_INVITE"])
    audit.record("account.invitation_resent", actor=actor, program_id=program.id, pair_id=pair.id,
                 user_id=person.id, role=role)
    return person
