"""The migration that takes the pair's PDF copies (pair-only answers in clear) out of the outbox table."""
from __future__ import annotations

from tests.lifecycle.test_migration import upgraded

SEED = """
insert into outbox_mail(id,to_address,subject,body,kind,attachment_name,attachment,created_at,sent_at,attempts)
  values (1,'mentor@x.example','Your signed mentoring agreement','Your copy is attached as a PDF.','signed_copy_pair',
          'P-agreement-1-revision-1-pair-copy.pdf',X'255044462D43414E4152592D706169722D6F6E6C79','2026-01-01',
          '2026-01-01',1),
         (2,'mentee@x.example','Your signed mentoring agreement','Your copy is attached as a PDF.','signed_copy_pair',
          'P-agreement-1-revision-1-pair-copy.pdf',X'255044462D43414E4152592D706169722D6F6E6C79','2026-01-01',
          NULL,0),
         (3,'p@x.example','P: signed agreement','The program''s copy is attached.','signed_copy_program',
          'P-agreement-1-revision-1-program-copy.pdf',X'255044462D70726F6772616D','2026-01-01','2026-01-01',1);
"""


def test_upgrading_removes_the_pairs_copies_from_the_outbox_and_keeps_the_programs(tmp_path):
    """Does upgrading remove every pair's copy already in the outbox (sent or waiting), tell a member whose mail
    has not gone yet where to download the copy, and leave the program's copy attached to the program's mail?"""
    with upgraded(tmp_path, "0008_pair_sort_names", SEED) as connection:
        rows = {row[0]: row[1:] for row in connection.execute(
            "select id, attachment_name, attachment, body, sent_at from outbox_mail order by id")}
        assert rows[1][0] is None and rows[1][1] is None
        assert rows[2][0] is None and rows[2][1] is None
        assert "no longer attached" in rows[2][2] and "sign in" in rows[2][2]
        assert rows[3][0].endswith("program-copy.pdf") and rows[3][1] == b"%PDF-program"
        assert all(b"CANARY" not in bytes(row[1] or b"") for row in rows.values())
