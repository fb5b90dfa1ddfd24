"""The pair's notebook: writing, reading, editing, deleting and searching notes, with and without htmx."""
from __future__ import annotations

import re

from portal.domain import notes
from portal.extensions import db
from portal.models import AuditEvent, Note
from tests.factories import approval_form, make_note
from tests.notes.html_forms import form_posting_to, forms_on, submit

HX = {"HX-Request": "true"}


def page_of(response) -> str:
    return response.get_data(as_text=True)


def note_count() -> int:
    return db.session.scalar(db.select(db.func.count(Note.id)))


# --- writing and reading ------------------------------------------------------------------------------------

def test_both_members_see_all_notes_newest_first_with_author_and_time(pairing):
    """Does each member see both members' notes, newest first, each with its author and time?"""
    response = pairing.mentor_client.post(pairing.notes_url, data={"text": "First, by the mentor."})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(pairing.notes_url)
    pairing.mentee_client.post(pairing.notes_url, data={"text": "Second, by the mentee."})
    for client in (pairing.mentor_client, pairing.mentee_client):
        page = page_of(client.get(pairing.notes_url))
        assert page.index("Second, by the mentee.") < page.index("First, by the mentor.")
        assert "Maria Mentor" in page and "Nina Mentee" in page
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">', page)


def test_saved_note_is_announced_after_the_redirect(pairing):
    """After saving with a plain form, does the notebook say the note was saved?"""
    response = pairing.mentor_client.post(pairing.notes_url, data={"text": "Saved?"}, follow_redirects=True)
    assert "Note saved." in page_of(response)


def test_note_text_is_rendered_with_the_small_markdown_subset_and_escaped(pairing):
    """Is **bold** shown bold and a <script> shown as text, never run?"""
    pairing.mentor_client.post(pairing.notes_url, data={"text": "**Goals**\n- listen\n\n<script>alert(1)</script>"})
    page = page_of(pairing.mentee_client.get(pairing.notes_url))
    assert "<strong>Goals</strong>" in page and "<li>listen</li>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


def test_empty_note_is_refused_next_to_the_field(pairing):
    """Is an empty note refused with 422 and a message tied to the text field, saving nothing?"""
    response = pairing.mentor_client.post(pairing.notes_url, data={"text": "  \n "})
    page = page_of(response)
    assert response.status_code == 422
    assert 'id="text-error"' in page and "Write something first" in page
    assert 'aria-invalid="true"' in page
    assert note_count() == 0


def test_too_long_note_is_refused_and_the_text_is_kept(pairing):
    """Is a note over the limit refused with its length, and the typed text kept in the box?"""
    text = "x" * (notes.NOTE_MAX_CHARS + 1)
    response = pairing.mentor_client.post(pairing.notes_url, data={"text": text})
    page = page_of(response)
    assert response.status_code == 422 and "Keep a note under 20,000 characters" in page
    assert text in page
    assert note_count() == 0


def test_htmx_create_swaps_the_notebook_in_place(pairing):
    """Does an htmx create get the notebook fragment back (form emptied, new note first), and a 422 fragment
    with the error when empty?"""
    make_note(pairing.pair, pairing.mentee, "An older note.")
    response = pairing.mentor_client.post(pairing.notes_url, data={"text": "Fresh note"}, headers=HX)
    page = page_of(response)
    assert response.status_code == 200 and "<html" not in page
    assert page.lstrip().startswith('<div id="notebook">')
    assert "Note saved." in page and page.index("Fresh note") < page.index("An older note.")
    assert re.search(r'<textarea[^>]* id="text"[^>]*>\s*</textarea>', page)
    assert page.count("Fresh note") == 1  # shown once, as the saved note: the box is empty again
    assert "HX-Request" in response.headers["Vary"]
    response = pairing.mentor_client.post(pairing.notes_url, data={"text": ""}, headers=HX)
    assert response.status_code == 422 and "Write something first" in page_of(response)
    assert page_of(response).lstrip().startswith('<div id="notebook">')


def test_empty_notebook_says_what_to_do(pairing):
    """Does an empty notebook explain that only the two of them will read what they write?"""
    page = page_of(pairing.mentor_client.get(pairing.notes_url))
    assert "No notes yet" in page and "only you and Nina Mentee" in page


def test_notebook_pages_through_older_notes(pairing, monkeypatch):
    """With more notes than fit on a page, can the member page to older notes and back?"""
    monkeypatch.setattr(notes, "PAGE_SIZE", 2)
    for number in range(1, 6):
        make_note(pairing.pair, pairing.mentor, f"Note number {number}.")
    first = page_of(pairing.mentor_client.get(pairing.notes_url))
    assert "Note number 5." in first and "Note number 3." not in first
    assert f'href="{pairing.notes_url}?page=2"' in first
    second = pairing.mentor_client.get(f"{pairing.notes_url}?page=2", headers=HX)
    assert page_of(second).lstrip().startswith('<div id="note-list">')
    assert "Note number 3." in page_of(second) and "Note number 5." not in page_of(second)
    last = page_of(pairing.mentor_client.get(f"{pairing.notes_url}?page=3"))
    assert "Note number 1." in last and "Older notes" not in last and "Newer notes" in last
    assert pairing.mentor_client.get(f"{pairing.notes_url}?page=-4").status_code == 200
    assert pairing.mentor_client.get(f"{pairing.notes_url}?page=abc").status_code == 200


def test_creating_a_note_is_audited_without_its_text(pairing):
    """Is writing a note recorded in the audit log by id, with none of its text?"""
    pairing.mentor_client.post(pairing.notes_url, data={"text": "Audit must not hold this sentence."})
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "note.create"))
    assert event.pair_id == pairing.pair.id and event.actor_id == pairing.mentor.id
    assert "sentence" not in event.detail


# --- editing ------------------------------------------------------------------------------------------------

def edit_data(note: Note, text: str, version: int | None = None) -> dict:
    return {f"note-{note.id}-text": text, f"note-{note.id}-version": str(note.version if version is None else version)}


def test_either_member_edits_a_note(pairing):
    """Can the mentee edit the mentor's note, and does the note then show who edited it?"""
    note = make_note(pairing.pair, pairing.mentor, "Draft by the mentor.")
    response = pairing.mentee_client.post(pairing.note_url(note.id, "edit"), data=edit_data(note, "Improved."))
    assert response.status_code == 303 and response.headers["Location"] == pairing.note_url(note.id)
    page = page_of(pairing.mentor_client.get(pairing.notes_url))
    assert "Improved." in page and "Draft by the mentor." not in page
    assert "edited by Nina Mentee" in page
    db.session.expire_all()
    assert db.session.get(Note, note.id).version == 2


def test_edit_form_is_prefilled_and_htmx_swaps_the_note(pairing):
    """Does the edit form hold the current text, and does an htmx save return just the updated note?"""
    note = make_note(pairing.pair, pairing.mentor, "Line one\nLine two")
    fragment = page_of(pairing.mentor_client.get(pairing.note_url(note.id, "edit"), headers=HX))
    assert fragment.lstrip().startswith(f'<article class="card note" id="note-{note.id}"')
    assert "Line one\nLine two</textarea>" in fragment
    response = pairing.mentor_client.post(pairing.note_url(note.id, "edit"), data=edit_data(note, "Line three"),
                                          headers=HX)
    assert response.status_code == 200 and "Note saved." in page_of(response)
    assert page_of(response).lstrip().startswith(f'<article class="card note" id="note-{note.id}"')


def test_saving_unchanged_text_changes_nothing(pairing):
    """Does saving the same text keep the version and say nothing changed?"""
    note = make_note(pairing.pair, pairing.mentor, "Same text.")
    response = pairing.mentor_client.post(pairing.note_url(note.id, "edit"), data=edit_data(note, "Same text."),
                                          follow_redirects=True)
    assert "Nothing changed." in page_of(response)
    db.session.expire_all()
    assert db.session.get(Note, note.id).version == 1


def test_emptying_a_note_is_refused(pairing):
    """Is saving an empty edit refused next to the field, leaving the note as it was?"""
    note = make_note(pairing.pair, pairing.mentor, "Keep me.")
    response = pairing.mentor_client.post(pairing.note_url(note.id, "edit"), data=edit_data(note, ""))
    assert response.status_code == 422 and f'id="note-{note.id}-text-error"' in page_of(response)
    db.session.expire_all()
    assert notes.decrypt_note(db.session.get(Note, note.id)) == "Keep me."


def test_two_members_editing_at_once_do_not_overwrite_each_other(pairing):
    """When both members edit the same version, is the second told, shown the first's text and given back
    their own text, instead of silently overwriting it?"""
    note = make_note(pairing.pair, pairing.mentor, "Original.")
    mentor_form = page_of(pairing.mentor_client.get(pairing.note_url(note.id, "edit")))
    mentee_form = page_of(pairing.mentee_client.get(pairing.note_url(note.id, "edit")))
    action = pairing.note_url(note.id, "edit")
    assert submit(pairing.mentor_client, mentor_form, action,
                  **{f"note-{note.id}-text": "The mentor's version."}).status_code == 303
    response = submit(pairing.mentee_client, mentee_form, action, **{f"note-{note.id}-text": "The mentee's version."})
    page = page_of(response)
    assert response.status_code == 422
    assert "changed this note after you opened it" in page
    assert "The mentor&#39;s version." in page or "The mentor's version." in page
    assert "The mentee&#39;s version.</textarea>" in page or "The mentee's version.</textarea>" in page
    db.session.expire_all()
    assert notes.decrypt_note(db.session.get(Note, note.id)) == "The mentor's version."
    # Saving again from the conflict form (which now carries the new version) is a deliberate overwrite.
    assert submit(pairing.mentee_client, page, action).status_code == 303
    db.session.expire_all()
    assert notes.decrypt_note(db.session.get(Note, note.id)) == "The mentee's version."


def test_text_typed_into_a_note_deleted_meanwhile_is_kept(pairing):
    """If the other member deletes a note while I edit it, is my text kept and offered as a new note?"""
    note_id = make_note(pairing.pair, pairing.mentor, "Soon gone.").id
    edit_page = page_of(pairing.mentee_client.get(pairing.note_url(note_id, "edit")))
    pairing.mentor_client.post(pairing.note_url(note_id, "delete"), data={f"delete-{note_id}-version": "1"})
    response = submit(pairing.mentee_client, edit_page, pairing.note_url(note_id, "edit"),
                      **{f"note-{note_id}-text": "My careful rewrite."})
    page = page_of(response)
    assert response.status_code == 422 and "deleted while you were editing" in page
    assert "My careful rewrite.</textarea>" in page
    assert submit(pairing.mentee_client, page, pairing.notes_url).status_code == 303
    assert [notes.decrypt_note(n) for n in db.session.scalars(db.select(Note))] == ["My careful rewrite."]


def test_editing_is_audited_without_text(pairing):
    """Is an edit recorded with the new version number and none of the text?"""
    note = make_note(pairing.pair, pairing.mentor, "v1")
    pairing.mentor_client.post(pairing.note_url(note.id, "edit"), data=edit_data(note, "secret second version"))
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "note.update"))
    assert '"version": 2' in event.detail and "secret" not in event.detail


# --- deleting -----------------------------------------------------------------------------------------------

def test_delete_asks_first_then_deletes_for_both(pairing):
    """Does delete show a confirmation, and once confirmed is the note gone for both members?"""
    note_id = make_note(pairing.pair, pairing.mentor, "To be deleted.").id
    confirm = page_of(pairing.mentee_client.get(pairing.note_url(note_id, "delete")))
    assert "Delete this note for both of you?" in confirm
    response = submit(pairing.mentee_client, confirm, pairing.note_url(note_id, "delete"))
    assert response.status_code == 303 and response.headers["Location"] == pairing.notes_url
    assert "Note deleted." in page_of(pairing.mentee_client.get(pairing.notes_url))
    assert "To be deleted." not in page_of(pairing.mentor_client.get(pairing.notes_url))
    assert pairing.mentor_client.get(pairing.note_url(note_id)).status_code == 404
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "note.delete")) is not None


def test_htmx_delete_replaces_the_note_with_a_notice(pairing):
    """Does an htmx delete answer with a short notice in the note's place?"""
    note_id = make_note(pairing.pair, pairing.mentor, "Bye.").id
    response = pairing.mentor_client.post(pairing.note_url(note_id, "delete"),
                                          data={f"delete-{note_id}-version": "1"}, headers=HX)
    assert response.status_code == 200
    assert page_of(response).strip() == f'<p class="flash flash-success" id="note-{note_id}" role="status">Note deleted.</p>'


def test_deleting_a_note_changed_since_it_was_read_is_refused(pairing):
    """If the other member changed the note after I opened the delete confirmation, is the delete refused
    and the new text shown, so nobody deletes words they have not read?"""
    note = make_note(pairing.pair, pairing.mentor, "Version one.")
    confirm = page_of(pairing.mentee_client.get(pairing.note_url(note.id, "delete")))
    pairing.mentor_client.post(pairing.note_url(note.id, "edit"), data=edit_data(note, "Version two, important."))
    response = submit(pairing.mentee_client, confirm, pairing.note_url(note.id, "delete"))
    assert response.status_code == 422
    assert "changed after you opened it" in page_of(response) and "Version two, important." in page_of(response)
    assert note_count() == 1


def test_deleting_twice_is_harmless(pairing):
    """Does a second delete of the same note (a double click, or both members) just say it is gone?"""
    note_id = make_note(pairing.pair, pairing.mentor, "Once.").id
    pairing.mentor_client.post(pairing.note_url(note_id, "delete"), data={f"delete-{note_id}-version": "1"})
    response = pairing.mentee_client.post(pairing.note_url(note_id, "delete"),
                                          data={f"delete-{note_id}-version": "1"}, follow_redirects=True)
    assert response.status_code == 200 and "already been deleted" in page_of(response)


# --- searching ----------------------------------------------------------------------------------------------

def search(client, pairing, query, **kwargs):
    return client.post(f"{pairing.notes_url}/search", data={"q": query}, **kwargs)


def test_search_finds_notes_containing_every_word_in_any_case(pairing):
    """Does search find the notes holding all the words typed, ignoring case, after decrypting them?"""
    make_note(pairing.pair, pairing.mentor, "We discussed the Budget review.")
    make_note(pairing.pair, pairing.mentee, "Budget only.")
    make_note(pairing.pair, pairing.mentee, "Something else entirely.")
    page = page_of(search(pairing.mentee_client, pairing, "budget REVIEW"))
    assert "We discussed the Budget review." in page
    assert "Budget only." not in page and "Something else" not in page
    assert "1 note contains “budget REVIEW”" in page and "Show all notes" in page
    page = page_of(search(pairing.mentee_client, pairing, "budget"))
    assert "2 notes contain" in page


def test_search_with_no_match_says_so_and_htmx_gets_the_list_only(pairing):
    """Does a search with no match say so, and does an htmx search return only the list?"""
    make_note(pairing.pair, pairing.mentor, "Nothing to see.")
    response = search(pairing.mentor_client, pairing, "absent", headers=HX)
    page = page_of(response)
    assert page.lstrip().startswith('<div id="note-list">') and "0 notes contain" in page


def test_search_is_bounded(pairing, monkeypatch):
    """Does one search decrypt at most SEARCH_SCAN_LIMIT notes, show at most SEARCH_MAX_RESULTS, and say
    when it stopped early?"""
    monkeypatch.setattr(notes, "SEARCH_SCAN_LIMIT", 4)
    monkeypatch.setattr(notes, "SEARCH_BATCH", 3)
    for number in range(6):
        make_note(pairing.pair, pairing.mentor, f"match {number}")
    decrypted = []
    real_decrypt = notes.decrypt_note
    monkeypatch.setattr(notes, "decrypt_note", lambda note: decrypted.append(note.id) or real_decrypt(note))
    page = page_of(search(pairing.mentor_client, pairing, "match"))
    assert len(decrypted) == 4 + 4  # four scanned, then the four matches shown
    assert "match 5" in page and "match 1" not in page
    assert "Only the newest notes were searched" in page
    monkeypatch.setattr(notes, "SEARCH_SCAN_LIMIT", 100)
    monkeypatch.setattr(notes, "SEARCH_MAX_RESULTS", 2)
    page = page_of(search(pairing.mentor_client, pairing, "match"))
    assert page.count('class="card note"') == 2 and "Only the newest notes" in page


def test_search_words_stay_out_of_urls(pairing):
    """Is search a POST (words from confidential notes never sit in a URL, its logs or history)?"""
    assert pairing.mentor_client.get(f"{pairing.notes_url}/search?q=secret").status_code == 405
    form = form_posting_to(page_of(pairing.mentor_client.get(pairing.notes_url)), f"{pairing.notes_url}/search")
    assert "q" in form.fields


def test_overlong_search_is_refused(pairing):
    """Is a search longer than 100 characters refused with a message, not run?"""
    response = search(pairing.mentor_client, pairing, "x" * 101)
    assert response.status_code == 422 and 'id="q-error"' in page_of(response)


# --- plain HTML, headers, content security -------------------------------------------------------------------

def test_every_action_works_as_a_plain_form_without_javascript(pairing, app):
    """Can a member write, edit, search, share, approve, withdraw and delete using only the forms on the
    pages, as a browser without JavaScript would (each form carrying its own CSRF token)?"""
    mentor, mentee = pairing.mentor_client, pairing.mentee_client
    page = page_of(mentor.get(pairing.notes_url))
    assert submit(mentor, page, pairing.notes_url, text="Written without JavaScript.").status_code == 303
    note = db.session.scalar(db.select(Note))
    note_id = note.id
    page = page_of(mentor.get(pairing.note_url(note.id, "edit")))
    assert submit(mentor, page, pairing.note_url(note.id, "edit"),
                  **{f"note-{note.id}-text": "Edited without JavaScript."}).status_code == 303
    page = page_of(mentor.get(pairing.notes_url))
    assert "Edited without JavaScript." in page_of(submit(mentor, page, f"{pairing.notes_url}/search", q="edited"))
    page = page_of(mentor.get(pairing.note_url(note.id, "share")))
    assert submit(mentor, page, pairing.note_url(note.id, "share"),
                  **{f"share-{note.id}-email": "reader@example.org"}).status_code == 303
    db.session.refresh(note)
    share = note.shares[0]
    page = page_of(mentee.get(pairing.share_url(share.id, "approve")))
    assert submit(mentee, page, pairing.share_url(share.id, "approve"),
                  **approval_form(share)).status_code == 303
    page = page_of(mentee.get(pairing.note_url(note.id)))
    assert submit(mentee, page, pairing.share_url(share.id, "withdraw")).status_code == 303
    page = page_of(mentor.get(pairing.note_url(note_id, "delete")))
    assert submit(mentor, page, pairing.note_url(note_id, "delete")).status_code == 303
    assert note_count() == 0


def test_notebook_pages_keep_to_the_content_security_policy(pairing):
    """Do the notebook pages and fragments have no inline script, inline style or event handler attribute?"""
    note = make_note(pairing.pair, pairing.mentor, "CSP check")
    urls = [pairing.notes_url, pairing.note_url(note.id), pairing.note_url(note.id, "edit"),
            pairing.note_url(note.id, "delete"), pairing.note_url(note.id, "share")]
    for url in urls:
        for headers in ({}, HX):
            page = page_of(pairing.mentor_client.get(url, headers=headers))
            assert not re.search(r"<script(?![^>]*\bsrc=)", page), url
            assert not re.search(r"\sstyle=", page), url
            assert not re.search(r"\son[a-z]+=", page), url


def test_notebook_pages_are_never_cached_nor_kept_in_htmx_history(pairing):
    """Do the notebook pages send Cache-Control: no-store and keep htmx's history cache off?"""
    note = make_note(pairing.pair, pairing.mentor, "No cache")
    for url in (pairing.notes_url, pairing.note_url(note.id)):
        response = pairing.mentor_client.get(url)
        assert response.headers["Cache-Control"] == "no-store"
        assert 'data-hx-history="false"' in page_of(response)


def test_every_htmx_form_also_has_a_plain_action(pairing):
    """Does every form that htmx enhances also post somewhere on its own (no dead end without JavaScript)?"""
    note = make_note(pairing.pair, pairing.mentor, "Forms")
    for url in (pairing.notes_url, pairing.note_url(note.id, "edit"), pairing.note_url(note.id, "share"),
                pairing.note_url(note.id, "delete")):
        for form in forms_on(page_of(pairing.mentor_client.get(url))):
            if "data-hx-post" in form.attrs:
                assert form.attrs["data-hx-post"] == form.action and form.attrs["method"] == "post", url
                assert "data-hx-target" in form.attrs and "data-hx-swap" in form.attrs, url


def test_a_member_deactivated_mid_session_sees_no_more_notes(app, pairing):
    """When a site admin deactivates a member, is their very next request to the notebook sent to sign in,
    with no note text, and can they no longer sign in?"""
    from tests.factories import PASSWORD, make_user, sign_in
    note = make_note(pairing.pair, pairing.mentor, "Before deactivation.")
    assert "Before deactivation." in page_of(pairing.mentor_client.get(pairing.notes_url))
    admin = app.test_client()
    sign_in(admin, make_user(site_admin=True))
    assert admin.post(f"/admin/users/{pairing.mentor.id}/deactivate").status_code == 303
    for url in (pairing.notes_url, pairing.note_url(note.id)):
        for headers in ({}, HX):
            response = pairing.mentor_client.get(url, headers=headers)
            assert response.status_code in (303, 401) and "Before deactivation." not in page_of(response)
    assert sign_in(pairing.mentor_client, pairing.mentor, PASSWORD).status_code == 422
