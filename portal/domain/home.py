"""What each person sees on their home page: one section per role they hold."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal import policy
from portal.extensions import db
from portal.domain.notes import awaiting_approval_counts
from portal.models import Agreement, Note, NoteShare, Pair, Program, User


@dataclass
class HomeSummary:
    is_site_admin: bool
    program_count: int = 0
    administered: list[tuple[Program, int]] = field(default_factory=list)  # (program, number of pairs)
    supervised_pairs: list[Pair] = field(default_factory=list)
    member_pairs: list[Pair] = field(default_factory=list)
    shares_awaiting_me: dict[int, int] = field(default_factory=dict)  # pair id -> proposals to answer
    shared_with_me: list[NoteShare] = field(default_factory=list)  # notes others agreed to let me read

    @property
    def is_empty(self) -> bool:
        return not (self.is_site_admin or self.administered or self.supervised_pairs or self.member_pairs
                    or self.shared_with_me)


def home_summary(user: User) -> HomeSummary:
    summary = HomeSummary(is_site_admin=user.is_site_admin)
    if user.is_site_admin:
        summary.program_count = db.session.scalar(select(func.count(Program.id))) or 0
    programs = db.session.scalars(policy.administered_programs(user)).all()
    if programs:
        counts = dict(db.session.execute(
            select(Pair.program_id, func.count(Pair.id)).where(Pair.program_id.in_([p.id for p in programs]),
                                                              Pair.archived_at.is_(None))
            .group_by(Pair.program_id)).all())
        summary.administered = [(program, counts.get(program.id, 0)) for program in programs]
    load = (selectinload(Pair.program), selectinload(Pair.mentor), selectinload(Pair.mentee),
            selectinload(Pair.agreements).joinedload(Agreement.template_version))
    summary.member_pairs = db.session.scalars(policy.member_pairs(user).options(*load)).all()
    summary.supervised_pairs = db.session.scalars(policy.supervised_pairs(user).options(*load)).all()
    if summary.member_pairs:
        summary.shares_awaiting_me = awaiting_approval_counts(user)
    summary.shared_with_me = db.session.scalars(policy.shares_for_recipient(user).options(
        selectinload(NoteShare.decided_by),
        selectinload(NoteShare.note).selectinload(Note.pair).options(*load))).all()
    return summary


WAITING = {
    "draft": "Fill in your agreement together.",
    "signing": "Your agreement is waiting for signatures.",
    "active": "Your agreement is active.",
    "in_review": "Review your mentorship together.",
    "closed": "This mentorship is closed.",
}


def current_agreement(pair: Pair):
    """The newest agreement of the pair (renewals and amendments add newer ones)."""
    return pair.agreements[-1] if pair.agreements else None
