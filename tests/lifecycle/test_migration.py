"""The lifecycle migration on a database that already holds agreements (SQLite, the embedded default)."""
from __future__ import annotations

import sqlite3

from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.extensions import db
from tests.conftest import TEST_CONFIG

SEED = """
insert into user(id,email,name,is_site_admin,is_deactivated,session_generation,created_at)
  values (1,'a@x.example','A',0,0,1,'2026-01-01'),(2,'b@x.example','B',0,0,1,'2026-01-01');
insert into program(id,name,code,return_email,default_term_months,created_at) values(1,'P','P','p@x.example',3,'2026-01-01');
insert into pair(id,program_id,mentor_id,mentee_id,created_at) values(1,1,1,2,'2026-01-01');
insert into agreement_template(id,program_id,name,created_at) values(1,1,'t','2026-01-01');
insert into template_version(id,template_id,number,state,definition_json,created_at)
  values(1,1,1,'published','{}','2026-01-01');
insert into agreement(id,pair_id,template_version_id,state,revision,term_start,term_months,change_seq,created_at,updated_at)
  values(1,1,1,'active',1,'2026-01-31',3,0,'2026-01-01','2026-01-01');
insert into field_value(id,agreement_id,field_key,value_json,version,changed_seq) values (1,1,'goal','"Grow"',1,1);
insert into field_change(id,agreement_id,field_key,version,new_json,at) values (1,1,'goal',1,'"Grow"','2026-01-01');
"""


def upgraded(tmp_path, revision: str, seed: str, then=None) -> sqlite3.Connection:
    """A database migrated to `revision`, filled with `seed` (SQL), then upgraded to the newest revision (and
    `then(app)` run, in the app's context); a connection to it for the test to read."""
    path = tmp_path / "existing.sqlite3"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade(revision=revision)
        db.engine.dispose()
        with sqlite3.connect(path) as connection:
            connection.executescript(seed)
        upgrade()
        if then is not None:
            then(app)
        db.engine.dispose()
    return sqlite3.connect(path)


def _down_and_up_again(_app) -> None:
    downgrade(revision="0002_agreements")
    upgrade()


def test_upgrading_keeps_every_agreement_and_its_values(tmp_path):
    """Upgrading a 0002 database to 0006 (and back, and up again) keeps agreements, values and history, and
    gives existing agreements their term end? (A table rebuild with foreign keys on once emptied them.)"""
    with upgraded(tmp_path, "0002_agreements", SEED, then=_down_and_up_again) as connection:
        assert connection.execute("select count(*) from field_value").fetchone()[0] == 1
        assert connection.execute("select count(*) from field_change").fetchone()[0] == 1
        assert connection.execute("select term_end from agreement").fetchone()[0] == "2026-04-29"
        assert connection.execute("select stall_days from program").fetchone()[0] == 30
        assert connection.execute("pragma foreign_key_check").fetchall() == []


def test_upgrading_gives_existing_pairs_their_names_to_sort_by(tmp_path):
    """Do pairs made before 0008 get their mentor's and mentee's names to sort by, folded as new pairs get
    them (non-ASCII capitals included)?"""
    people_and_pair = SEED.split("insert into agreement_template")[0]
    seed = people_and_pair.replace("'A'", "'Émile Abel'").replace("'B'", "'BEA Crane'")
    with upgraded(tmp_path, "0007_performance_indexes", seed) as connection:
        assert connection.execute("select mentor_sort_name, mentee_sort_name from pair").fetchone() == (
            "émile abel", "bea crane")


def test_upgrading_removes_access_left_behind_by_revoked_roles_and_deactivated_accounts(tmp_path):
    """Do assignments left without a live supervisor role, and the roles, assignments and approved note shares
    of accounts deactivated before 0009, open nothing after the upgrade (a reactivation gives back no pair and
    no note), while live supervisors (in their own program only) and other shares stay as they were?"""
    people = SEED.split("insert into agreement_template")[0]
    seed = people + """
insert into user(id,email,name,is_site_admin,is_deactivated,session_generation,created_at)
  values (3,'revoked@x.example','R',0,0,1,'2026-01-01'),(4,'live@x.example','L',0,0,1,'2026-01-01'),
         (5,'gone@x.example','G',0,1,1,'2026-01-01'),(6,'reader@x.example','Q',0,0,1,'2026-01-01');
insert into program_role(id,user_id,program_id,role,created_at)
  values (1,4,1,'supervisor','2026-01-01'),(2,5,1,'supervisor','2026-01-01');
insert into program(id,name,code,return_email,default_term_months,created_at) values(2,'Q','Q','q@x.example',3,'2026-01-01');
insert into pair(id,program_id,mentor_id,mentee_id,created_at) values(2,2,1,2,'2026-01-01');
insert into pair_supervisor(id,pair_id,user_id) values (1,1,3),(2,1,4),(3,1,5),(4,2,4);
insert into note(id,pair_id,author_id,body,version,created_at) values (1,1,1,x'00',1,'2026-01-01');
insert into note_share(id,note_id,recipient_email,recipient_name,recipient_id,state,proposed_by_id,proposed_at,
                       ended_by_edit)
  values (1,1,'gone@x.example','',5,'approved',1,'2026-01-01',0),
         (2,1,'reader@x.example','',6,'approved',1,'2026-01-01',0);
"""
    with upgraded(tmp_path, "0008_pair_sort_names", seed) as connection:
        assert connection.execute("select user_id from pair_supervisor order by id").fetchall() == [(4,)]
        assert connection.execute("select user_id from program_role order by id").fetchall() == [(4,)]
        assert connection.execute("select id, state, withdrawn_by_id from note_share order by id").fetchall() == [
            (1, "withdrawn", None), (2, "approved", None)]
        assert connection.execute("select withdrawn_at is not null from note_share where id = 1").fetchone() == (1,)
