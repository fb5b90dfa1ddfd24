"""portal.rawsql, the hot pages' plain SQL: it must give what the ORM would, on SQLite and PostgreSQL, and
take part in the request's transaction like any other statement."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import Integer, bindparam, event, select, update
from sqlalchemy.orm import Session

from portal import policy, rawsql
from portal.extensions import db
from portal.models import Agreement, FieldValue, Program, User
from tests.factories import make_agreement, make_pair, make_program, make_user, make_version

@contextmanager
def sent():
    """Every statement sent inside the block, through SQLAlchemy or straight from portal.rawsql."""
    statements: list[str] = []

    def listener(_connection, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    rawsql.listen(statements.append)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
        rawsql.remove(statements.append)


_USER_BY_ID = rawsql.Query(select(*rawsql.columns_of(User)).where(User.id == bindparam("user_id", type_=Integer)))
_PROGRAM_NAMES = rawsql.Query(select(Program.name).where(Program.id.in_(bindparam("ids", expanding=True)))
                              .order_by(Program.name))
_RENAME_PROGRAM = rawsql.Query(update(Program).where(Program.id == bindparam("program_id", type_=Integer))
                               .values(name=bindparam("name")))
_FIELD_VALUES = rawsql.Query(select(FieldValue.value_ct, FieldValue.updated_at).where(
    FieldValue.agreement_id == bindparam("agreement_id", type_=Integer)))


def test_rows_are_typed_as_the_orm_types_them(app):
    """Do dates, booleans and ids come back as the ORM gives them (not as the driver's raw strings)?"""
    person = make_user(name="Typed Person")
    db.session.commit()
    row = dict(zip((column.key for column in rawsql.columns_of(User)),
                   rawsql.first(_USER_BY_ID, {"user_id": person.id})))
    loaded = db.session.get(User, person.id)
    for key, value in row.items():
        assert value == getattr(loaded, key), key
        assert type(value) is type(getattr(loaded, key)), key


def test_binary_values_come_back_as_bytes(app):
    """Is an encrypted value (bytes) read back as bytes on every database?"""
    pair = make_pair(make_program())
    agreement = make_agreement(pair, make_version(pair.program, "ccmc"))
    db.session.commit()
    found = rawsql.rows(_FIELD_VALUES, {"agreement_id": agreement.id})
    assert found and all(value is None or isinstance(value, bytes) for value, _at in found)


def test_a_list_parameter_works_for_every_length(app):
    """Does an IN list give the right rows whatever its length (each length compiled on its own)?"""
    programs = [make_program(name=f"Program {n}") for n in range(4)]
    db.session.commit()
    ids = [program.id for program in programs]
    assert [name for (name,) in rawsql.rows(_PROGRAM_NAMES, {"ids": ids[:1]})] == ["Program 0"]
    assert [name for (name,) in rawsql.rows(_PROGRAM_NAMES, {"ids": ids[1:4]})] == [
        "Program 1", "Program 2", "Program 3"]
    assert [name for (name,) in rawsql.rows(_PROGRAM_NAMES, {"ids": ids[:2]})] == ["Program 0", "Program 1"]


def test_a_write_commits_and_rolls_back_with_the_request(app):
    """Is a plain write part of the session's transaction: undone by its rollback, kept by its commit?"""
    program_id = make_program(name="Before").id
    db.session.commit()
    assert rawsql.execute(_RENAME_PROGRAM, {"program_id": program_id, "name": "Rolled back"}) == 1
    db.session.rollback()
    assert db.session.scalar(select(Program.name).where(Program.id == program_id)) == "Before"
    rawsql.execute(_RENAME_PROGRAM, {"program_id": program_id, "name": "Committed"})
    db.session.commit()
    db.session.close()  # the next read is another session's, on a connection of its own
    with Session(db.engine) as elsewhere:
        assert elsewhere.scalar(select(Program.name).where(Program.id == program_id)) == "Committed"


def test_a_read_sees_what_the_session_has_not_flushed_yet(app):
    """Like an ORM query, does a plain read see the request's pending changes?"""
    person = make_user(name="Old Name")
    db.session.commit()
    person.name = "New Name"  # pending, not flushed
    row = rawsql.first(_USER_BY_ID, {"user_id": person.id})
    assert "New Name" in row


def test_an_adopted_row_is_the_persistent_object_the_orm_would_load(app):
    """Is an adopted row the session's own object (the same one a later get returns), and is a change to it
    saved like any other?"""
    person_id = make_user(name="Adopted").id
    db.session.commit()
    db.session.expunge_all()
    values = dict(zip((column.key for column in rawsql.columns_of(User)),
                      rawsql.first(_USER_BY_ID, {"user_id": person_id})))
    adopted = rawsql.adopt(User, values)
    assert db.session.get(User, person_id) is adopted
    assert rawsql.adopt(User, values) is adopted
    adopted.name = "Changed through the adopted object"
    db.session.commit()
    db.session.expunge_all()
    assert db.session.get(User, person_id).name == "Changed through the adopted object"


def test_the_agreement_loader_brings_its_pair_program_people_and_version(app):
    """Does loading an agreement for a member leave nothing to load lazily for the page's header?"""
    mentor, mentee = make_user(name="Mia Mentor"), make_user(name="Ned Mentee")
    pair = make_pair(make_program(name="Loaded Program"), mentor, mentee)
    agreement = make_agreement(pair, make_version(pair.program))
    db.session.commit()
    agreement_id, mentor_id = agreement.id, mentor.id
    db.session.expunge_all()
    loaded = policy.agreement_for_member(db.session.get(User, mentor_id), agreement_id)
    with sent() as statements:
        header = (loaded.pair.program.name, loaded.pair.mentor.name, loaded.pair.mentee.name,
                  loaded.template_version.state)
    assert header == ("Loaded Program", "Mia Mentor", "Ned Mentee", "published")
    assert statements == []
    assert isinstance(loaded, Agreement)
