"""The data keys are checked at start-up: a wrong key, or data under a key that is no longer listed, stops the
start (naming the key id); a value that still cannot be decrypted says so, never "changed after signing"."""
from __future__ import annotations

import base64
import html

import pytest

from portal import create_app
from portal.extensions import db
from portal.models import Note, SignedVersion
from tests.conftest import TEST_CONFIG
from tests.factories import (act_as, fill_in, make_agreement, make_note, make_pair, make_program,
                             make_signed_agreement, make_version)

UNDECRYPTABLE = "cannot be decrypted with the portal's keys"


def key(byte: int) -> str:
    return base64.urlsafe_b64encode(bytes([byte]) * 32).decode()


WRONG_TEST1 = f"test1:{key(7)}"  # the suite's key id with another key


def start(data_keys: str):
    """A start of the portal on the suite's database with `data_keys`."""
    db.session.commit()  # the test's own transaction (SQLite: its write lock) ends before the start looks
    portal = create_app({**TEST_CONFIG, "DATA_KEYS": data_keys})
    with portal.app_context():
        db.session.remove()
        db.engine.dispose()
    return portal


def start_refused(data_keys: str) -> str:
    with pytest.raises(RuntimeError) as refused:
        start(data_keys)
    return str(refused.value)


def test_a_listed_key_that_does_not_match_its_check_stops_the_start(app):
    """Once the portal has started with a key, does a later start with another key under the same key id stop,
    naming the key id?"""
    start(TEST_CONFIG["DATA_KEYS"])
    message = start_refused(WRONG_TEST1)
    assert "'test1'" in message and "does not decrypt" in message


def test_a_wrong_key_for_existing_data_stops_the_first_start(app):
    """When notes exist under a key id, does the first start with a wrong key for that id stop (naming it),
    instead of starting and calling every signed agreement "changed after signing"?"""
    make_note(make_pair(make_program()))
    message = start_refused(WRONG_TEST1)
    assert "'test1'" in message


def test_data_under_a_key_that_is_not_listed_stops_the_start(app):
    """When data exists under a key id that DATA_KEYS no longer lists, does the start stop, naming it?"""
    start(TEST_CONFIG["DATA_KEYS"])
    make_note(make_pair(make_program()))
    message = start_refused(f"other:{key(9)}")
    assert "'test1'" in message and "not list" in message


def test_the_rotation_procedure_starts_at_every_step(app):
    """New key first with the old one kept, rotate-keys, then the old key removed: does every start succeed,
    and does the old key's data read under the new one?"""
    from portal.domain import notes
    start(TEST_CONFIG["DATA_KEYS"])
    note_id = make_note(make_pair(make_program()), text="kept through the rotation").id
    both = f"new1:{key(3)},{TEST_CONFIG['DATA_KEYS']}"
    rotating = start(both)
    with rotating.app_context():  # the command runs in the app whose context is current
        result = rotating.test_cli_runner().invoke(args=["rotate-keys"])
        db.session.remove()
    assert result.exit_code == 0 and "now under key new1" in result.output, result.output
    rotated = start(f"new1:{key(3)}")
    with rotated.app_context():
        assert notes.decrypt_note(db.session.get(Note, note_id)) == "kept through the rotation"
        db.session.remove()
    assert "does not decrypt" in start_refused(f"new1:{key(4)}")  # rotate-keys wrote new1's check


def test_an_agreement_whose_content_cannot_be_decrypted_says_so(app, client):
    """When a signed agreement's content cannot be decrypted with the configured keys, does its page say that
    the text cannot be decrypted, never that it was changed outside the portal after signing?"""
    pair = make_pair(make_program())
    agreement = make_signed_agreement(pair)
    app.config["DATA_KEYS"] = f"other:{key(9)}"  # the key of the stored content is gone
    act_as(client, pair.mentor)
    page = client.get(f"/agreements/{agreement.id}").get_data(as_text=True)
    assert UNDECRYPTABLE in page
    assert "changed outside the portal" not in page and "may have been altered" not in page


def test_the_export_says_which_text_cannot_be_decrypted(app, client):
    """Does the pair's data export say explicitly that a note's or an answer's text cannot be decrypted,
    instead of a silent null?"""
    pair = make_pair(make_program())
    agreement = make_agreement(pair, make_version(pair.program, "ccmc"))  # CCMC has pair-only answers
    fill_in(agreement, everything=True)
    make_note(pair, text="a note the export cannot read")
    app.config["DATA_KEYS"] = f"other:{key(9)}"
    act_as(client, pair.mentor)
    data = client.get(f"/pairs/{pair.id}/export.json").get_json()
    [note] = data["notes"]
    assert note["text"] is None and UNDECRYPTABLE in note["cannot_be_decrypted"]
    pair_only = [f for f in data["agreements"][0]["fields"] if f["pair_only"]]
    assert pair_only and all(f["value"] is None and UNDECRYPTABLE in f["cannot_be_decrypted"] for f in pair_only)


def test_checking_a_copy_whose_content_cannot_be_decrypted_says_so(app, client):
    """When a signed version's content cannot be decrypted with the configured keys, do the signed-in check (by
    file and by hash) and the public check say that it cannot be decrypted, never "no match" or that it was
    changed, and does the public check still show only the program and the date?"""
    import io
    pair = make_pair(make_program(name="Key Program"))
    agreement = make_signed_agreement(pair)
    act_as(client, pair.mentor)
    pdf = client.get(f"/agreements/{agreement.id}/versions/1/program-copy.pdf").get_data()
    content_hash = db.session.scalar(db.select(SignedVersion.content_hash)
                                     .where(SignedVersion.agreement_id == agreement.id))
    app.config["DATA_KEYS"] = f"gone9:{key(9)}"
    by_file = client.post("/verify", data={"pdf": (io.BytesIO(pdf), "a.pdf")}, content_type="multipart/form-data")
    by_hash = client.post("/verify", data={"hash": content_hash})
    public = app.test_client().post("/check-a-pdf", data={"pdf": (io.BytesIO(pdf), "a.pdf")},
                                    content_type="multipart/form-data")
    for response in (by_file, by_hash, public):
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and UNDECRYPTABLE in page, page
        assert "Key Program" in page and "No match" not in page
        assert "changed outside the portal" not in page and "no longer matches" not in page
        assert "gone9" not in page and "test1" not in page  # no key id, configured or stored
    public_result = public.get_data(as_text=True).split("verify-result")[1].split("</div>")[0]
    assert content_hash not in public.get_data(as_text=True) and f"/agreements/{agreement.id}" not in public_result


TAMPER_WORDS = ("changed outside the portal", "altered", "tamper", "damaged", "does not belong")


def assert_says_undecryptable(client, url: str) -> str:
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, url
    assert UNDECRYPTABLE in page and "SECRET" not in page and "gone9" not in page, url
    assert not [word for word in TAMPER_WORDS if word in page.lower()], url
    return page


def test_every_page_with_encrypted_text_says_it_cannot_be_decrypted(app):
    """When the key of a pair's texts is no longer configured, do the pair's page (meeting summaries, planned
    places, progress comments), the review page and the notebook and note pages each answer, say plainly that
    the text cannot be decrypted with the portal's keys, and never suggest it was altered?"""
    from datetime import timedelta

    from portal.domain.planned_meetings import PlanInput, plan_meeting
    from portal.timeutil import utctoday
    from tests.factories import make_meeting
    from tests.lifecycle.conftest import build_world
    world = build_world(app, "ccmc", answers={"goals": ["Pass the exam"]},
                        term_start=utctoday() - timedelta(days=120))
    a, mentee, keys = world.agreement, world.client("mentee"), app.config["DATA_KEYS"]
    make_meeting(a, world.people["mentor"], held_on=utctoday() - timedelta(days=100), summary="SECRET-summary")
    plan_meeting(a, world.people["mentor"],
                 PlanInput(on=(utctoday() + timedelta(days=3)).isoformat(), at="17:30", place="SECRET-place"))
    db.session.commit()
    mentee.post(f"/agreements/{a.id}/progress", data={"status-goals:0": "achieved", "comment-goals:0": "SECRET-c"})
    note = make_note(world.pair, world.people["mentee"], text="SECRET-note")
    app.config["DATA_KEYS"] = f"gone9:{key(9)}"
    pair_page = assert_says_undecryptable(mentee, f"/pairs/{world.pair.id}")
    for kind in ("summary", "place", "comment"):
        assert f"This {kind} cannot be decrypted with the portal's keys" in pair_page, kind
    assert_says_undecryptable(mentee, f"/pairs/{world.pair.id}/notes")
    assert_says_undecryptable(mentee, f"/pairs/{world.pair.id}/notes/{note.id}")
    app.config["DATA_KEYS"] = keys
    mentee.post(f"/agreements/{a.id}/review/start")
    mentee.post(f"/agreements/{a.id}/review", data={"outcome-goals:0": "achieved", "conclusion": "SECRET-conc"})
    app.config["DATA_KEYS"] = f"gone9:{key(9)}"
    review = assert_says_undecryptable(mentee, f"/agreements/{a.id}/review")
    assert "This conclusion cannot be decrypted with the portal's keys" in review


def test_signing_refused_for_an_undecryptable_answer_says_why(app):
    """When a pair-only answer's key is no longer configured, is signing refused saying that part of the agreement
    cannot be decrypted with the portal's keys, never that it may have been altered?"""
    from portal.domain import signing
    from tests.factories import sign_as
    pair = make_pair(make_program())
    agreement = make_agreement(pair, make_version(pair.program, "ccmc"))
    fill_in(agreement, everything=True)
    app.config["DATA_KEYS"] = f"gone9:{key(9)}"
    with pytest.raises(signing.SigningRefused) as refused:
        sign_as(agreement, pair.mentor)
    assert UNDECRYPTABLE in str(refused.value) and "altered" not in str(refused.value)


def test_a_decline_reason_that_cannot_be_decrypted_says_so(app, client):
    """When a decline reason's key is no longer configured, does the partner's agreement page say the reason
    cannot be decrypted with the portal's keys, instead of silently leaving it out?"""
    from portal.domain import signing
    pair = make_pair(make_program())
    agreement = make_agreement(pair)
    fill_in(agreement)
    signing.decline(agreement, pair.mentee, "mentee", "SECRET-reason", None, None)
    db.session.commit()
    app.config["DATA_KEYS"] = f"gone9:{key(9)}"
    act_as(client, pair.mentor)
    response = client.get(f"/agreements/{agreement.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "declined to sign" in page
    assert "This reason cannot be decrypted with the portal's keys." in page and "SECRET" not in page


def test_the_pair_copy_refused_for_a_missing_key_says_so(app, client):
    """When the pair-only part of a signed version cannot be decrypted with the configured keys, is the pair's
    PDF copy refused saying so, without suggesting it was altered?"""
    pair = make_pair(make_program())
    agreement = make_signed_agreement(pair)
    app.config["DATA_KEYS"] = f"gone9:{key(9)}"
    act_as(client, pair.mentor)
    response = client.get(f"/agreements/{agreement.id}/versions/1/pair-copy.pdf")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 409 and UNDECRYPTABLE in page and "altered" not in page


def _started_during_an_outage(tmp_path):
    """A portal started while its database could not be opened; then the database comes (migrated)."""
    from flask_migrate import upgrade

    from portal import create_app
    from tests.conftest import TEST_CONFIG, PortalClient
    directory = tmp_path / "db"
    portal = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'portal.sqlite3'}"})
    portal.test_client_class = PortalClient
    directory.mkdir()
    with portal.app_context():
        upgrade()
        db.session.remove()
    return portal


def test_a_worker_started_during_an_outage_serves_nothing_with_keys_that_do_not_match(tmp_path, capfd):
    """A worker that started while the database was away could not check its keys: once the database is back,
    does it check them before its first request, and, as they do not match, serve nothing (503, no write) rather
    than store new pair content under a wrong key, with the key id in the log?"""
    from portal import key_check
    from portal.crypto import Keyring
    from portal.models import User
    portal = _started_during_an_outage(tmp_path)
    with portal.app_context():
        key_check.write_check(db.session, Keyring(f"test1:{key(7)}"), "test1")  # test1 stood for another key
        db.session.commit()
        db.session.remove()
    client = portal.test_client()
    for _ in range(2):
        assert client.get("/auth/sign-in").status_code == 503
    response = client.post("/auth/forgot-password", data={"email": "someone@example.org"})
    assert response.status_code == 503
    log = capfd.readouterr().err  # the portal's own log handler (portal/logs.py) writes to stderr
    assert log.count("data keys refused") == 3 and "'test1'" in log and key(7) not in log
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 503
    with portal.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0
        db.session.remove()


def test_a_worker_started_during_an_outage_serves_once_its_keys_match(tmp_path):
    """With the right keys, does that worker check them at its first request and serve as usual?"""
    from portal.models import DataKeyCheck
    portal = _started_during_an_outage(tmp_path)
    client = portal.test_client()
    assert client.get("/auth/sign-in").status_code == 200
    assert client.get("/auth/sign-in").status_code == 200
    with portal.app_context():
        assert db.session.scalar(db.select(DataKeyCheck.key_id)) == "test1"  # checked, and recorded
        db.session.remove()


def test_check_keys_says_whether_the_keys_match_before_a_reload(app, tmp_path, monkeypatch):
    """Does `flask check-keys` (which the systemd unit's reload runs before it signals gunicorn) pass with the
    keys in use, and fail, naming the key id, for a key file that would stop the new workers: the wrong key
    under a listed id, the old key's line removed before `rotate-keys` ran, or the same id twice?"""
    import subprocess
    import sys
    from pathlib import Path
    make_note(make_pair(make_program()))  # data under the suite's key id, test1
    db.session.commit()
    key_file = tmp_path / "data_keys"
    environment = {"PATH": "/usr/bin:/bin", "PORTAL_INSTANCE_DIR": str(tmp_path), "DATA_KEYS_FILE": str(key_file),
                   "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "s" * 48}

    def check_keys(lines: list[str]):
        key_file.write_text("\n".join(lines) + "\n")
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "check-keys"], env=environment,
                              cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=60)

    suite_key = TEST_CONFIG["DATA_KEYS"]
    passed = check_keys([f"new1:{key(3)}", suite_key])
    assert passed.returncode == 0 and "match" in passed.stdout, passed.stderr[-2000:]
    for lines, key_id in (([WRONG_TEST1], "test1"), ([f"new1:{key(3)}"], "test1"), ([suite_key, suite_key], "test1")):
        refused = check_keys(lines)
        assert refused.returncode != 0 and f"'{key_id}'" in refused.stderr, (lines, refused.stderr[-2000:])
        assert key(7) not in refused.stderr + refused.stdout and "A" * 43 not in refused.stderr
