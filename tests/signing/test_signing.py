"""Signing: each member signs their own line with their password; the second signature makes the agreement
active; wrong-state actions are refused and change nothing; any content change clears the signatures."""
from __future__ import annotations

import json
import re

import pytest

from portal.domain import signed_content, signing
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.models import AgreementEvent, AgreementSignature, AuditEvent, OutboxMail, RateEvent
from tests.factories import fill_in, outbox, sign_as
from tests.signing.conftest import FULL_VALUES, PAIR_SECRET, REQUIRED_VALUES, sign_over_http, snapshot

HTMX = {"HX-Request": "true"}


def signatures(agreement_id: int, **where) -> list[AgreementSignature]:
    db.session.expire_all()
    query = db.select(AgreementSignature).where(AgreementSignature.agreement_id == agreement_id)
    for name, value in where.items():
        query = query.where(getattr(AgreementSignature, name) == value)
    return db.session.scalars(query.order_by(AgreementSignature.id)).all()


def event_kinds(agreement_id: int) -> list[str]:
    return db.session.scalars(db.select(AgreementEvent.kind).where(AgreementEvent.agreement_id == agreement_id)
                              .order_by(AgreementEvent.id)).all()


def test_both_members_sign_and_the_agreement_becomes_active(world):
    """Does the first signature move the agreement to signing, the second make it active and read-only, and
    does each signature record the printed name, UTC time, address, browser, template version and hash?"""
    fill_in(world.agreement, FULL_VALUES)
    first = sign_over_http(world, "mentor", printed_name="Maya  R. Mentor")
    assert first.status_code == 303 and first.headers["Location"].endswith("#signing")
    assert world.fresh().state == "signing"
    page = world.clients["mentee"].get(world.url).get_data(as_text=True)
    assert "Maya Mentor signed on" in page and "Any change saved now clears the signature" in page
    assert sign_over_http(world, "mentee").status_code == 303
    agreement = world.fresh()
    assert agreement.state == "active"
    rows = signatures(agreement.id, cleared_at=None)
    assert [(row.role, row.outcome) for row in rows] == [("mentor", "signed"), ("mentee", "signed")]
    mentor_row = rows[0]
    assert mentor_row.printed_name == "Maya R. Mentor"  # typed, spaces tidied
    assert mentor_row.client_address == "127.0.0.1" and mentor_row.user_agent.startswith("Werkzeug")
    assert mentor_row.template_version_id == agreement.template_version_id
    assert json.loads(mentor_row.acknowledgements_json) == [
        {"key": "release", "text": "We release Signing Program from every claim."}]
    # The hash is the hash of the canonical content, pair-only values included, and both signed the same one.
    version = signing.signed_version(agreement, 1)
    content = signing.full_content(version, agreement.pair_id)
    assert content["fields"]["secret"] == PAIR_SECRET
    assert signed_content.content_hash(content) == version.content_hash == rows[0].content_hash == rows[1].content_hash
    assert event_kinds(agreement.id)[-3:] == ["signed", "signed", "activated"]
    page = world.clients["mentor"].get(world.url).get_data(as_text=True)
    assert 'name="f-motto"' not in page and "Reopen for amendment" in page
    assert "Maya R. Mentor" in page and version.content_hash in page


def test_signing_needs_the_correct_password(world):
    """Is a wrong password refused next to its field (422), counted towards the throttle, and nothing signed?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    before = snapshot(world.agreement.id)
    response = sign_over_http(world, "mentor", password="not my password at all")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="password-error" role="alert">That is not your password' in page
    assert 'value="Maya Mentor"' in page  # what was typed stays; the password field stays empty
    assert "not my password at all" not in page
    assert snapshot(world.agreement.id) == before
    assert db.session.scalar(db.select(db.func.count(RateEvent.id)).where(
        RateEvent.key == world.people["mentor"].email)) == 1
    for _ in range(4):
        sign_over_http(world, "mentor", password="still wrong, again")
    throttled = sign_over_http(world, "mentor")  # even the right password waits now
    assert throttled.status_code == 422 and ("Too many failed sign-ins. Wait 15 minutes, then try again, or reset "
                                             "your password.") in throttled.get_data(as_text=True)
    assert signatures(world.agreement.id) == []


def test_signing_is_refused_while_required_fields_are_missing(world):
    """Is signing refused with the missing parts named while required fields are empty, with nothing changed?"""
    fill_in(world.agreement, {"motto": "Only this"}, required=False)
    page = world.clients["mentor"].get(world.url).get_data(as_text=True)
    assert 'action="/agreements/%d/sign"' % world.agreement.id not in page  # no signing form offered
    assert "fill in every part marked" in page
    before = snapshot(world.agreement.id)
    response = sign_over_http(world, "mentor", seen="1.99")
    body = response.get_data(as_text=True)
    message = re.search(r'class="flash flash-error" role="alert">(.*?)</p>', body, re.S).group(1)
    assert response.status_code == 409
    assert "fill in every required part first" in message
    assert "How we met" in message and "Goals" in message and "Our motto" not in message
    assert snapshot(world.agreement.id) == before


def test_every_acknowledgement_must_be_accepted_by_each_signer(world):
    """Is a signature without the release ticked refused next to the checkbox, and the clause text shown?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    page = world.clients["mentee"].get(world.url).get_data(as_text=True)
    assert 'name="acknowledge" value="release"' in page and "We release Signing Program from every claim." in page
    before = snapshot(world.agreement.id)
    response = sign_over_http(world, "mentee", acknowledge=[])
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="ack-release-error" role="alert"' in body
    assert snapshot(world.agreement.id) == before


def test_an_empty_printed_name_is_refused(world):
    """Is a blank printed name refused next to its field, with the other answers kept?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    response = sign_over_http(world, "mentor", printed_name="   ")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="printed_name-error"' in body
    assert re.search(r'id="ack-release"[^>]*\bchecked\b', body)  # the ticked box stays ticked
    assert signatures(world.agreement.id) == []


def test_signing_twice_is_refused(world):
    """Is a second signature by the same member refused with a clear message and nothing changed?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    assert sign_over_http(world, "mentor").status_code == 303
    before = snapshot(world.agreement.id)
    from tests.factories import PASSWORD
    again = world.clients["mentor"].post(f"{world.url}/sign", data={
        "role": "mentor", "printed_name": "Maya", "password": PASSWORD, "acknowledge": ["release"],
        "seen": signing.content_token(world.fresh())})
    assert again.status_code == 409 and "You have already signed this version" in again.get_data(as_text=True)
    assert snapshot(world.agreement.id) == before


@pytest.mark.parametrize("state", ["active", "closed", "in_review"])
def test_a_signed_or_closed_agreement_cannot_be_signed(world, state):
    """Is signing an active, in-review or closed agreement refused with a message that says why?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    agreement = world.fresh()
    agreement.state = state
    db.session.commit()
    before = snapshot(agreement.id)
    response = sign_over_http(world, "mentee", seen=signing.content_token(agreement))
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert {"active": "already signed by both of you and active", "closed": "closed and can no longer be signed",
            "in_review": "under review"}[state] in body
    assert snapshot(agreement.id) == before


def test_an_active_agreement_cannot_be_edited(world):
    """Once both signed, is an edit refused (409, read-only) and the signed content unchanged?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    sign_as(world.fresh(), world.people["mentor"])
    sign_as(world.fresh(), world.people["mentee"])
    before = snapshot(world.agreement.id)
    response = world.clients["mentor"].post(f"{world.url}/fields/motto", data={"f-motto": "Changed", "v-motto": "1"},
                                            headers=HTMX)
    assert response.status_code == 409 and "read-only" in response.get_data(as_text=True)
    assert snapshot(world.agreement.id) == before
    assert signing.integrity_problem(world.fresh()) is None


@pytest.mark.parametrize("posted_role", ["mentee", "supervisor"])
def test_nobody_can_sign_for_the_partner(world, posted_role):
    """Is a signature posted for the partner's line (or a line that does not exist) refused, and nothing signed?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    before = snapshot(world.agreement.id)
    response = sign_over_http(world, "mentor", role=posted_role)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert ("You can only sign or decline on your own line" in body if posted_role == "mentee"
            else "does not belong to a signature line" in body)
    assert snapshot(world.agreement.id) == before
    declined = world.clients["mentor"].post(f"{world.url}/decline", data={"role": "mentee", "reason": "Not me"})
    assert declined.status_code == 409 and snapshot(world.agreement.id) == before


def test_outsiders_cannot_sign_decline_or_reopen(world):
    """Do the supervisor, the program admin and a member of another pair get 404 for every signing action?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    before = snapshot(world.agreement.id)
    for who in ("supervisor", "admin", "outsider"):
        for action in ("sign", "decline", "reopen"):
            response = world.clients[who].post(f"{world.url}/{action}", data={"role": "mentor", "reason": "x"})
            assert response.status_code == 404, (who, action)
    assert snapshot(world.agreement.id) == before


def test_state_fields_posted_with_a_signature_are_ignored(world):
    """Does a signature posted with state, revision or hash fields only sign the person's own line?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    response = sign_over_http(world, "mentor", state="active", revision="7", content_hash="0" * 64,
                              outcome="declined", user_id=str(world.people["mentee"].id), cleared_at="")
    assert response.status_code == 303
    agreement = world.fresh()
    assert (agreement.state, agreement.revision) == ("signing", 1)
    [row] = signatures(agreement.id)
    assert (row.role, row.user_id, row.outcome) == ("mentor", world.people["mentor"].id, "signed")
    assert row.content_hash != "0" * 64


def test_a_partner_change_after_the_page_was_loaded_stops_the_signature(world):
    """If the partner changes the content after the signer loaded the page, is the signature refused so that
    nobody signs text they have not seen? (The signer's own saves do not count.)"""
    fill_in(world.agreement, REQUIRED_VALUES)
    page = world.clients["mentor"].get(world.url).get_data(as_text=True)
    seen = page.split('name="seen" value="')[1].split('"')[0]
    world.clients["mentor"].post(f"{world.url}/fields/motto", headers=HTMX, data={
        "f-motto": "My own late edit", "v-motto": str(db.session.scalar(db.text(
            "select version from field_value where field_key='motto' and agreement_id=:a"),
            {"a": world.agreement.id}))})
    from tests.factories import PASSWORD
    data = {"role": "mentor", "printed_name": "Maya", "password": PASSWORD, "acknowledge": ["release"], "seen": seen}
    world.clients["mentee"].post(f"{world.url}/fields/story", headers=HTMX, data={
        "f-story": "The mentee rewrote this", "v-story": "1"})
    before = snapshot(world.agreement.id)
    stale = world.clients["mentor"].post(f"{world.url}/sign", data=data)
    assert stale.status_code == 409 and "changed the agreement after you opened this page" in stale.get_data(
        as_text=True)
    assert snapshot(world.agreement.id) == before
    fresh_seen = signing.content_token(world.fresh())
    assert world.clients["mentor"].post(f"{world.url}/sign", data={**data, "seen": fresh_seen}).status_code == 303


def test_editing_after_one_signature_clears_it_and_tells_both(world):
    """After one signature, does an edit clear it (state back to draft), record the event, show a notice to both
    on the page, and mail both members without any pair-only text?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    sign_over_http(world, "mentor")
    since = world.fresh().change_seq
    db.session.execute(db.delete(OutboxMail))
    db.session.commit()
    response = world.clients["mentee"].post(f"{world.url}/fields/secret", headers=HTMX, data={
        "f-secret": PAIR_SECRET, "v-secret": "0"})
    assert response.status_code == 200
    agreement = world.fresh()
    assert agreement.state == "draft"
    [row] = signatures(agreement.id)
    assert row.cleared_at is not None  # kept, marked cleared: the record of who signed what stays
    assert event_kinds(agreement.id)[-1] == "signatures_cleared"
    cleared = db.session.scalar(db.select(AgreementEvent).where(AgreementEvent.kind == "signatures_cleared"))
    assert "Eli Mentee changed the agreement after Maya Mentor signed" == cleared.detail
    mails = outbox("signatures_cleared")
    assert sorted(mail.to_address for mail in mails) == sorted(
        [world.people["mentor"].email, world.people["mentee"].email])
    for mail in mails:
        assert PAIR_SECRET not in mail.body and "Something only we know" not in mail.body  # not even the label
        assert "Eli Mentee changed your mentoring agreement" in mail.body
    for who in ("mentor", "mentee"):
        page = world.clients[who].get(world.url).get_data(as_text=True)
        assert "Signatures cleared." in page and "Eli Mentee changed the agreement after Maya Mentor signed" in page
    # The open editors find out at their next poll: the state moved on, so the page reloads.
    poll = world.clients["mentor"].get(f"{world.url}/changes?since={since}&state=signing", headers=HTMX)
    assert poll.headers.get("HX-Refresh") == "true"
    # A change of a field the program may see is named in the mail.
    sign_over_http(world, "mentee")
    world.clients["mentor"].post(f"{world.url}/fields/motto", headers=HTMX, data={"f-motto": "New motto",
                                                                                   "v-motto": "1"})
    assert '("Our motto")' in outbox("signatures_cleared")[-1].body


def test_signing_a_second_time_after_clearing_works(world):
    """After the signatures were cleared, can both sign the new content and make the agreement active?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    sign_over_http(world, "mentor")
    fill_in(world.fresh(), {"motto": "Changed after signing"}, by=world.people["mentee"])
    assert world.fresh().state == "draft"
    assert sign_over_http(world, "mentee").status_code == 303
    assert sign_over_http(world, "mentor").status_code == 303
    agreement = world.fresh()
    assert agreement.state == "active"
    content = signing.full_content(signing.signed_version(agreement, 1), agreement.pair_id)
    assert content["fields"]["motto"] == "Changed after signing"


def test_declining_shows_the_reason_to_the_partner_only(world):
    """Does a decline show its reason to the partner, but only "declined" to the supervisor and program admin,
    with the reason encrypted at rest and kept out of mails, events and the audit log?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    reason = "CANARY-decline-reason: the goals are not mine yet"
    response = world.clients["mentee"].post(f"{world.url}/decline", data={"role": "mentee", "reason": reason})
    assert response.status_code == 303
    partner_page = world.clients["mentor"].get(world.url).get_data(as_text=True)
    assert reason.replace("'", "&#39;") in partner_page and "Eli Mentee declined to sign" in partner_page
    for who in ("supervisor", "admin"):
        page = world.clients[who].get(world.url).get_data(as_text=True)
        assert "declined to sign" in page and "CANARY" not in page
        assert "CANARY" not in world.clients[who].get(f"/pairs/{world.agreement.pair_id}").get_data(as_text=True)
    [row] = signatures(world.agreement.id)
    assert row.outcome == "declined" and b"CANARY" not in bytes(row.decline_reason_ct)
    [mail] = outbox("partner_declined")
    assert mail.to_address == world.people["mentor"].email and "CANARY" not in mail.body
    assert all("CANARY" not in event.detail for event in db.session.scalars(db.select(AgreementEvent)))
    assert all("CANARY" not in (event.detail or "") for event in db.session.scalars(db.select(AuditEvent)))
    assert world.fresh().state == "draft"


def test_a_decline_needs_a_reason_and_a_signer_cannot_decline(world):
    """Is a decline without a reason refused next to the box, and a decline after signing refused?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    empty = world.clients["mentee"].post(f"{world.url}/decline", data={"role": "mentee", "reason": "  "})
    assert empty.status_code == 422 and 'id="reason-error" role="alert"' in empty.get_data(as_text=True)
    sign_over_http(world, "mentor")
    before = snapshot(world.agreement.id)
    late = world.clients["mentor"].post(f"{world.url}/decline", data={"role": "mentor", "reason": "Changed my mind"})
    assert late.status_code == 409 and "cannot decline" in late.get_data(as_text=True)
    assert snapshot(world.agreement.id) == before


def test_a_decliner_can_still_sign_and_an_edit_clears_the_decline(world):
    """Does an edit clear an earlier decline, and does signing replace a member's own decline?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    world.clients["mentee"].post(f"{world.url}/decline", data={"role": "mentee", "reason": "Fix the motto"})
    fill_in(world.fresh(), {"motto": "A better motto"})
    assert signatures(world.agreement.id, cleared_at=None) == []
    assert event_kinds(world.agreement.id)[-1] == "decline_cleared"
    world.clients["mentee"].post(f"{world.url}/decline", data={"role": "mentee", "reason": "Still not right"})
    assert sign_over_http(world, "mentee").status_code == 303
    [current] = signatures(world.agreement.id, cleared_at=None)
    assert current.outcome == "signed"


def test_followers_see_signatures_but_no_signing_form(world):
    """Do the supervisor and program admin see who signed and when, without any form or pair-only content?"""
    fill_in(world.agreement, FULL_VALUES)
    sign_over_http(world, "mentor")
    for who in ("supervisor", "admin"):
        page = world.clients[who].get(world.url).get_data(as_text=True)
        assert "signed</strong> by Maya Mentor" in page and "not signed yet (Eli Mentee)" in page
        assert "/sign\"" not in page and 'name="password"' not in page and PAIR_SECRET not in page


def test_the_canonical_content_covers_everything_signed(world):
    """Does the hash change when any signed part changes (a pair-only value, a party, the revision, the term, the
    template version, an acknowledgement), and stay the same for the same content?"""
    fill_in(world.agreement, FULL_VALUES)
    agreement = world.fresh()
    definition = definition_of(agreement.template_version)
    values = signing._live_values(agreement, definition)
    base = signing._content(agreement, definition, values, "seal")
    digest = signed_content.content_hash(base)
    assert signed_content.content_hash(json.loads(json.dumps(base))) == digest  # key order does not matter
    changes = {
        "pair-only value": lambda c: c["fields"].update(secret="another secret"),
        "party e-mail": lambda c: c["parties"][0].update(email="someone@else.example"),
        "revision": lambda c: c["agreement"].update(revision=2),
        "agreement id": lambda c: c["agreement"].update(id=999),
        "term": lambda c: c["term"].update(start="2027-01-01"),
        "template version": lambda c: c["template_version"].update(number=2),
        "acknowledgement": lambda c: c["acknowledgements"][0].update(text="We release nobody."),
        "program": lambda c: c["program"].update(name="Another Program"),
        "seal": lambda c: c.update(seal="another seal"),
    }
    for name, change in changes.items():
        content = json.loads(json.dumps(base))
        change(content)
        assert signed_content.content_hash(content) != digest, name
    public, private = signed_content.split_pair_only(base, ["secret", "topics"])
    assert "secret" not in public["fields"] and "seal" not in public and PAIR_SECRET not in json.dumps(public)
    assert signed_content.merge_pair_only(public, private) == base


def test_key_rotation_reaches_the_signing_ciphertexts(app, runner, world):
    """Does `flask rotate-keys` re-encrypt the seal, decline reasons and signed versions, which still read after?"""
    from portal import crypto
    from portal.models import Agreement, SignedVersion
    fill_in(world.agreement, FULL_VALUES)
    world.clients["mentee"].post(f"{world.url}/decline", data={"role": "mentee", "reason": "Not yet"})
    sign_as(world.fresh(), world.people["mentor"])
    sign_as(world.fresh(), world.people["mentee"])
    old_key = app.config["DATA_KEYS"]
    app.config["DATA_KEYS"] = "k2:" + "B" * 43 + "=," + old_key
    assert runner.invoke(args=["rotate-keys"]).exit_code == 0
    db.session.expire_all()
    agreement = db.session.get(Agreement, world.agreement.id)
    version = db.session.scalar(db.select(SignedVersion))
    [declined] = signatures(agreement.id, outcome="declined")
    for blob in (agreement.seal_ct, version.pair_only_ct, declined.decline_reason_ct):
        assert crypto.key_id_of(blob) == "k2"
    assert signing.version_is_intact(version, agreement.pair_id)
    assert signing.decline_reason(declined, agreement.pair_id) == "Not yet"
    assert signing.integrity_problem(agreement) is None
