"""The benchmark's own code (bench/, `make bench`) kept from rotting: its seeding at a tiny size and its
in-process measurer on a few endpoints, against a SQLite file of its own (whatever database the suite uses).
No timing is asserted here: speed goals belong to the benchmark's report, not to unit tests."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import upgrade

from bench import endpoints, inprocess
from bench.floor import create_floor_app
from bench.seed import PRESETS, seed
from portal import create_app
from portal.domain import signing
from portal.extensions import db
from portal.models import Agreement, Note, User


def _bench_config(path) -> dict:
    return {
        "TESTING": True, "SECRET_KEY": "bench-test-secret", "DATA_KEYS": "bench1:" + "B" * 43 + "=",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "MAIL_SERVER": None, "MAIL_FILE": str(path.with_name("outbox.log")), "WTF_CSRF_ENABLED": True,
    }


@pytest.fixture(scope="module")
def bench_app(tmp_path_factory):
    """An app on its own SQLite file, migrated and seeded with the tiny preset."""
    path = tmp_path_factory.mktemp("bench") / "bench.sqlite3"
    app = create_app(_bench_config(path))
    with app.app_context():
        upgrade()
        fixtures = seed(PRESETS["tiny"])
        engine = db.engine
    yield app, fixtures, engine
    with app.app_context():
        db.session.remove()
        engine.dispose()


def test_seeding_makes_every_state_with_consistent_signatures(bench_app):
    """Does the tiny seed hold every agreement state, notes that decrypt, and signed content that passes the
    portal's own integrity check?"""
    app, fixtures, _engine = bench_app
    with app.app_context():
        agreements = db.session.scalars(db.select(Agreement)).all()
        states = {(agreement.state, agreement.closure_kind) for agreement in agreements}
        assert {("draft", None), ("signing", None), ("active", None), ("in_review", None), ("closed", "completed"),
                ("closed", "early"), ("closed", "renewed")} <= states
        assert any(agreement.revision == 2 for agreement in agreements)      # reopened for amendment
        assert any(agreement.predecessor_id for agreement in agreements)     # renewal
        assert [agreement.id for agreement in agreements if signing.integrity_problem(agreement)] == []
        from portal import crypto
        for note in db.session.scalars(db.select(Note).limit(20)):
            assert crypto.decrypt(note.body, note.aad)
        assert fixtures.counts["note"] == PRESETS["tiny"].notes
        assert fixtures.counts["meeting"] == PRESETS["tiny"].meetings
        db.session.remove()


def test_in_process_measurer_counts_statements_and_really_saves(bench_app):
    """Does the measurer sign in through the form, poll, autosave with the version each answer reports, and
    count SQL statements and bytes?"""
    app, fixtures, engine = bench_app
    transport = endpoints.InProcessTransport(app)
    counter = inprocess.StatementCounter(engine)
    try:
        poll = endpoints.build("poll_unchanged", app, fixtures,
                               lambda email: endpoints.sign_in(transport, email, fixtures.password))
        result = inprocess.measure(app, poll, calls=40, counter=counter)
        assert result.status == 204 and result.calls == 40 and result.sql_per_request >= 1
        assert result.response_bytes == 0

        autosave = endpoints.build("autosave", app, fixtures,
                                   lambda email: endpoints.sign_in(transport, email, fixtures.password))
        before = autosave.autosaves[0].version
        result = inprocess.measure(app, autosave, calls=40, counter=counter)
        assert result.status == 200 and 0 < result.response_bytes < 2048
        hot = fixtures.editors[0]
        stored = endpoints.field_version(app, hot["agreement_id"], hot["autosave_field"])
        assert stored == autosave.autosaves[0].version == before + 40 + inprocess.WARM_UP_CALLS

        editor = endpoints.build("editor", app, fixtures,
                                 lambda email: endpoints.sign_in(transport, email, fixtures.password))
        weight = inprocess.page_weight(app, editor)
        assert any(path.endswith(".js") for path in weight["assets"])
        assert weight["total_bytes"] > weight["page_bytes"]
    finally:
        counter.close()


def test_the_floor_app_answers_its_empty_views_only_as_the_portal_would(bench_app):
    """Does the portal's floor (the portal plus two empty views) take the portal's session, answer the signed-in
    view for the signed-in person and send everyone else to sign in, like any page of the portal?"""
    app, fixtures, _engine = bench_app
    floor_app = create_floor_app(_bench_config(Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):])))
    transport = endpoints.InProcessTransport(app)
    sign_in_as = lambda email: endpoints.sign_in(transport, email, fixtures.password)  # noqa: E731
    floor_transport = endpoints.InProcessTransport(floor_app)
    try:
        signed_out = endpoints.floor_endpoint("floor_signed_out", fixtures, sign_in_as)
        result = inprocess.measure(floor_app, signed_out, calls=30)
        assert result.status == 200 and result.response_bytes == len(b"floor")

        signed_in = endpoints.floor_endpoint("floor_signed_in", fixtures, sign_in_as)
        request = signed_in.requests[0]
        status, _cookies, body = floor_transport.send(request.method, request.path, request.headers)
        with app.app_context():
            mentor = db.session.scalar(db.select(User).where(User.email == fixtures.editors[0]["mentor_email"]))
            assert (status, body) == (200, f"floor {mentor.id}".encode())
            db.session.remove()

        anonymous = floor_app.test_client().get(request.path)
        assert anonymous.status_code in (302, 303) and anonymous.location.startswith("/auth/sign-in")
    finally:
        with floor_app.app_context():
            db.session.remove()
            db.engine.dispose()
