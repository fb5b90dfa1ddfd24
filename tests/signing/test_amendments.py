"""Amendments: an active agreement is reopened as a new revision that both edit and sign again, and every signed
version stays viewable with its hash, signatures and PDFs."""
from __future__ import annotations

from portal.domain import signing
from portal.extensions import db
from portal.models import AgreementEvent, SignedVersion
from tests.factories import fill_in, outbox, sign_as
from tests.signing.conftest import FULL_VALUES, PAIR_SECRET, pdf_text, sign_over_http, snapshot

HTMX = {"HX-Request": "true"}


def make_active(world):
    fill_in(world.agreement, FULL_VALUES)
    sign_as(world.fresh(), world.people["mentor"])
    sign_as(world.fresh(), world.people["mentee"])
    return world.fresh()


def test_amendment_goes_through_draft_and_both_signatures_and_keeps_revision_one(world):
    """Active → reopen → edit → both sign → active revision 2; does revision 1 stay viewable with its hash,
    signatures and PDF, showing the values it was signed with?"""
    first = signing.signed_version(make_active(world), 1)
    reopened = world.clients["mentee"].post(f"{world.url}/reopen")
    assert reopened.status_code == 303
    agreement = world.fresh()
    assert (agreement.state, agreement.revision) == ("draft", 2)
    [mail] = outbox("amendment_started")
    assert mail.to_address == world.people["mentor"].email
    page = world.clients["mentor"].get(world.url).get_data(as_text=True)
    assert "Amendment 1" in page and 'name="f-motto"' in page  # editable again
    assert "not signed yet (Maya Mentor)" in page and first.content_hash in page  # revision 1 still listed
    world.clients["mentor"].post(f"{world.url}/fields/motto", headers=HTMX,
                                 data={"f-motto": "Amended motto", "v-motto": "1"})
    world.clients["mentee"].post(f"{world.url}/fields/secret", headers=HTMX,
                                 data={"f-secret": "CANARY-amended-secret", "v-secret": "1"})
    assert sign_over_http(world, "mentee").status_code == 303
    assert sign_over_http(world, "mentor").status_code == 303
    agreement = world.fresh()
    assert (agreement.state, agreement.revision) == ("active", 2)
    second = signing.signed_version(agreement, 2)
    assert second.content_hash != first.content_hash
    # Both versions are listed with their hashes; revision 1 shows what was signed then.
    page = world.clients["mentor"].get(world.url).get_data(as_text=True)
    assert first.content_hash in page and second.content_hash in page
    old = world.clients["mentor"].get(f"{world.url}/versions/1").get_data(as_text=True)
    assert "Onwards together" in old and "Amended motto" not in old and PAIR_SECRET in old
    assert first.content_hash in old and "not the current text" in old
    assert old.count("signed</strong> by") == 2
    old_pdf = pdf_text(world.clients["mentor"].get(f"{world.url}/versions/1/pair-copy.pdf").get_data())
    assert "Onwards together" in old_pdf and PAIR_SECRET in old_pdf and "Amended motto" not in old_pdf
    new_pdf = pdf_text(world.clients["mentor"].get(f"{world.url}/versions/2/pair-copy.pdf").get_data())
    assert "Amended motto" in new_pdf and "CANARY-amended-secret" in new_pdf and "Amendment 1 (revision 2)" in new_pdf
    # The certificate of each version lists its own history only.
    assert "Amendment started" not in old_pdf.split("History of this version")[1]
    assert "Amendment started" in new_pdf.split("History of this version")[1]
    assert signing.version_is_intact(first, agreement.pair_id) and signing.integrity_problem(agreement) is None
    assert len(outbox("signed_copy_program")) == 2


def test_the_program_sees_signed_versions_without_pair_only_content(world):
    """Can the supervisor and the program admin open a signed version, without the pair-only values?"""
    make_active(world)
    for who in ("supervisor", "admin"):
        page = world.clients[who].get(f"{world.url}/versions/1").get_data(as_text=True)
        assert "Onwards together" in page and "CANARY" not in page and "Something only we know" not in page
        assert "pair-copy.pdf" not in page and "program-copy.pdf" in page
    assert world.clients["outsider"].get(f"{world.url}/versions/1").status_code == 404


def test_only_an_active_agreement_can_be_reopened(world):
    """Is reopening a draft or a signing agreement refused with a message, and nothing changed?"""
    fill_in(world.agreement, FULL_VALUES)
    before = snapshot(world.agreement.id)
    draft = world.clients["mentor"].post(f"{world.url}/reopen")
    assert draft.status_code == 409 and "nothing to amend" in draft.get_data(as_text=True)
    assert snapshot(world.agreement.id) == before
    sign_over_http(world, "mentor")
    before = snapshot(world.agreement.id)
    signing_state = world.clients["mentee"].post(f"{world.url}/reopen")
    assert signing_state.status_code == 409 and "being signed" in signing_state.get_data(as_text=True)
    assert snapshot(world.agreement.id) == before


def test_edits_in_an_amendment_leave_the_signed_version_alone(world):
    """Do edits of revision 2 leave revision 1's signatures and record untouched (not cleared, still intact)?"""
    agreement = make_active(world)
    world.clients["mentor"].post(f"{world.url}/reopen")
    fill_in(world.fresh(), {"motto": "Changed in the amendment", "secret": "Changed secret"})
    first = signing.signed_version(world.fresh(), 1)
    assert [row.cleared_at for row in signing.version_signatures(first)] == [None, None]
    assert signing.version_is_intact(first, agreement.pair_id)
    assert db.session.scalar(db.select(db.func.count(SignedVersion.id))) == 1
    kinds = db.session.scalars(db.select(AgreementEvent.kind).where(AgreementEvent.revision == 2)).all()
    assert kinds == ["amendment_started"]
