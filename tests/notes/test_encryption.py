"""Notes at rest: ciphertext only, bound to their row, readable after key rotation."""
from __future__ import annotations

import base64

from sqlalchemy import text

from portal.crypto import key_id_of
from portal.domain import notes
from portal.extensions import db
from portal.models import Note
from tests.database_files import read_sqlite_files
from tests.factories import make_note, make_pair, make_share, make_user, act_as
from tests.notes.conftest import signed_in_client

SECRET = "Confidential-plaintext-marker-4417"


def raw_bodies() -> list[bytes]:
    return [bytes(row[0]) for row in db.session.execute(text("SELECT body FROM note"))]


def new_key(byte: int) -> str:
    return base64.urlsafe_b64encode(bytes([byte]) * 32).decode()


def test_the_database_never_holds_note_text(pairing):
    """Is a note stored as ciphertext only: not in the raw column, not anywhere in the database file?"""
    pairing.mentor_client.post(pairing.notes_url, data={"text": f"{SECRET} written through the page"})
    note = db.session.scalar(db.select(Note))
    pairing.mentor_client.post(pairing.note_url(note.id, "edit"),
                               data={f"note-{note.id}-text": f"{SECRET} edited", f"note-{note.id}-version": "1"})
    bodies = raw_bodies()
    assert len(bodies) == 1 and SECRET.encode() not in bodies[0]
    assert key_id_of(bodies[0]) == "test1"
    db.session.commit()
    # SQLite in WAL mode: recent pages sit in the -wal file, so every file of the database is read.
    files = read_sqlite_files()
    assert files or db.engine.dialect.name != "sqlite"
    for name, content in files.items():
        assert SECRET.encode() not in content, name
        assert SECRET.encode("utf-16-le") not in content, name


def test_each_note_row_has_its_own_associated_data(pairing):
    """Is the ciphertext bound to note:<id>|pair:<pair id>, so it decrypts for that row only?"""
    note = make_note(pairing.pair, pairing.mentor, "bound")
    from portal import crypto
    assert crypto.decrypt(note.body, f"note:{note.id}|pair:{pairing.pair.id}") == "bound"
    assert note.aad == f"note:{note.id}|pair:{pairing.pair.id}"


def test_a_ciphertext_copied_to_another_note_cannot_be_read_and_the_page_says_so(app, pairing, caplog):
    """If someone with database access copies one note's ciphertext onto another note (of the same or another
    pair), does it fail to decrypt, with a clear message on the page instead of a 500 or the text?"""
    source = make_note(pairing.pair, pairing.mentor, f"{SECRET} original")
    same_pair_target = make_note(pairing.pair, pairing.mentee, "harmless")
    other_pair = make_pair(pairing.program, make_user(), make_user())
    other_target = make_note(other_pair, other_pair.mentor, "other harmless")
    for target in (same_pair_target, other_target):
        db.session.execute(text("UPDATE note SET body = (SELECT body FROM note WHERE id = :source) WHERE id = :target"),
                           {"source": source.id, "target": target.id})
    db.session.commit()
    db.session.expire_all()

    notebook = pairing.mentor_client.get(pairing.notes_url)
    page = notebook.get_data(as_text=True)
    assert notebook.status_code == 200
    assert page.count(f"{SECRET} original") == 1  # the source note still reads
    assert "This note cannot be read." in page
    single = pairing.mentor_client.get(pairing.note_url(same_pair_target.id))
    assert single.status_code == 200 and "This note cannot be read." in single.get_data(as_text=True)
    assert SECRET not in single.get_data(as_text=True)
    edit = pairing.mentor_client.get(pairing.note_url(same_pair_target.id, "edit"))
    assert edit.status_code == 409 and "cannot be edited" in edit.get_data(as_text=True)
    assert pairing.mentor_client.get(pairing.note_url(same_pair_target.id, "share")).status_code == 409

    other_client = app.test_client()
    act_as(other_client, other_pair.mentor)
    other_page = other_client.get(f"/pairs/{other_pair.id}/notes").get_data(as_text=True)
    assert "This note cannot be read." in other_page and SECRET not in other_page
    assert f"note {same_pair_target.id} cannot be decrypted" in caplog.text  # ids only in the log
    assert SECRET not in caplog.text


def test_an_unreadable_note_can_still_be_deleted(pairing):
    """Is a damaged note a dead end? (No: the pair can delete it.)"""
    note = make_note(pairing.pair, pairing.mentor, "soon damaged")
    db.session.execute(text("UPDATE note SET body = :junk WHERE id = :id"), {"junk": b"\x01k" + b"\0" * 40, "id": note.id})
    db.session.commit()
    page = pairing.mentor_client.get(pairing.notes_url).get_data(as_text=True)
    assert f'href="{pairing.note_url(note.id, "delete")}"' in page
    assert f'href="{pairing.note_url(note.id, "edit")}"' not in page
    response = pairing.mentor_client.post(pairing.note_url(note.id, "delete"), data={f"delete-{note.id}-version": "1"})
    assert response.status_code == 303
    assert db.session.scalar(db.select(db.func.count(Note.id))) == 0


def test_a_recipient_of_a_damaged_note_gets_a_clear_message(app, pairing):
    """Does the recipient of a shared note whose ciphertext no longer matches see a message, not a 500?"""
    note = make_note(pairing.pair, pairing.mentor, "shared then damaged")
    other = make_note(pairing.pair, pairing.mentor, "the other")
    reader = make_user()
    share = make_share(note, reader)
    db.session.execute(text("UPDATE note SET body = (SELECT body FROM note WHERE id = :source) WHERE id = :target"),
                       {"source": other.id, "target": note.id})
    db.session.commit()
    response = signed_in_client(app, reader).get(f"/shared/{share.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "This note cannot be read." in page and "the other" not in page


def test_rotate_keys_reencrypts_notes_and_they_read_back(app, runner, pairing):
    """With a new key put first in DATA_KEYS, does `flask rotate-keys` re-encrypt every note under it, so that
    the old key can then be removed and the notes still read back (with no edit recorded)?"""
    first = make_note(pairing.pair, pairing.mentor, "Rotate me, first.")
    second = make_note(pairing.pair, pairing.mentee, "Rotate me, second.")
    old_keys = app.config["DATA_KEYS"]
    app.config["DATA_KEYS"] = f"k2:{new_key(7)},{old_keys}"
    # New notes already use the new key before rotation runs; rotation only touches the old ones.
    third = make_note(pairing.pair, pairing.mentor, "Written after the new key.")
    assert [key_id_of(body) for body in raw_bodies()] == ["test1", "test1", "k2"]

    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "note.body: 2 re-encrypted" in result.output and "now under key k2" in result.output
    assert [key_id_of(body) for body in raw_bodies()] == ["k2", "k2", "k2"]

    app.config["DATA_KEYS"] = f"k2:{new_key(7)}"  # the old key is gone
    page = pairing.mentee_client.get(pairing.notes_url).get_data(as_text=True)
    for expected in ("Rotate me, first.", "Rotate me, second.", "Written after the new key."):
        assert expected in page
    assert "cannot be read" not in page
    db.session.expire_all()
    assert {db.session.get(Note, n.id).version for n in (first, second, third)} == {1}
    assert "No longer shared" not in page  # rotation is not an edit: nothing ends, nothing shows "edited"
    assert "edited by" not in page


def test_a_note_under_a_removed_key_says_it_cannot_be_read(app, pairing):
    """If a key is removed before its notes were rotated, does the page say the note cannot be decrypted with the
    portal's keys (not that it is damaged) instead of failing?"""
    make_note(pairing.pair, pairing.mentor, "Under the old key.")
    app.config["DATA_KEYS"] = f"k9:{new_key(9)}"
    response = pairing.mentor_client.get(pairing.notes_url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "This note cannot be decrypted with the portal's keys." in page
    assert "damaged" not in page


def test_notes_is_registered_for_rotation():
    """Is the note column registered so that rotate-keys can never skip it?"""
    from portal.crypto import ENCRYPTED_COLUMNS
    assert [(c.model, c.attribute) for c in ENCRYPTED_COLUMNS].count((Note, "body")) == 1
    assert notes.NOTE_MAX_CHARS > 0
