"""The sweeps read a file once, without the htmx header (tests/flows/canary.py `is_file`, the markup walk): that
holds only while every route that sends a file sends the same file to an htmx request. This proves it."""
from __future__ import annotations

import re

from portal.models import SignedVersion
from portal.extensions import db
from tests.factories import act_as, make_pair, make_program, make_role, make_signed_agreement, make_user, make_version
from tests.flows.canary import is_file, readable_text


def pages_text(response) -> str:
    """The pages' text, without when the copy was made: two copies made a moment apart may straddle a minute."""
    text = readable_text(response).rpartition("\n")[0]  # the last line is the metadata (with the issue time)
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}( UTC)?", "(when)", text)

FILE_ENDPOINTS = {"agreements.pair_copy_pdf", "agreements.program_copy_pdf", "lifecycle.schedule",
                  "lifecycle.export", "dashboards.dashboard_csv", "builder.export_version",
                  "builder.preview_pdf", "programs.import_sample"}


def test_every_file_route_sends_the_same_file_to_an_htmx_request(app, client):
    """Does each route that sends a file (PDF copies, calendar, data export, CSV, template export, PDF preview)
    answer an htmx request with the same file, never a fragment of its own?"""
    program = make_program()
    version = make_version(program)
    pair = make_pair(program)
    agreement = make_signed_agreement(pair, version)
    revision = db.session.scalar(db.select(SignedVersion.revision).where(SignedVersion.agreement_id == agreement.id))
    admin = make_user()
    make_role(admin, program)
    member_urls = [f"/agreements/{agreement.id}/versions/{revision}/pair-copy.pdf",
                   f"/agreements/{agreement.id}/versions/{revision}/program-copy.pdf",
                   f"/agreements/{agreement.id}/schedule.ics", f"/pairs/{pair.id}/export.json"]
    admin_urls = [f"/programs/{program.id}/dashboard.csv",
                  f"/programs/{program.id}/templates/versions/{version.id}/export",
                  f"/programs/{program.id}/templates/versions/{version.id}/preview.pdf",
                  f"/programs/{program.id}/pairs/import/sample.csv"]
    endpoints = set()
    for person, urls in ((pair.mentor, member_urls), (admin, admin_urls)):
        act_as(client, person)
        for url in urls:
            plain, htmx = client.get(url), client.get(url, headers={"HX-Request": "true"})
            assert is_file(plain), url
            assert is_file(htmx), f"{url} answered an htmx request with something else than its file"
            assert htmx.mimetype == plain.mimetype, url
            assert htmx.headers["Content-Disposition"] == plain.headers["Content-Disposition"], url
            if plain.mimetype == "application/pdf":  # issued afresh each time: the same pages, another date
                assert pages_text(htmx) == pages_text(plain), url
            elif plain.mimetype == "application/json":  # the export says when it was made
                assert {**htmx.get_json(), "exported_at": None} == {**plain.get_json(), "exported_at": None}, url
            else:
                assert htmx.get_data() == plain.get_data(), url
            endpoints.add(app.url_map.bind("localhost").match(url)[0])
    # A new route that sends a file must be added here (the sweeps read it once, without the header).
    senders = {rule.endpoint for rule in app.url_map.iter_rules()
               if rule.endpoint in FILE_ENDPOINTS or rule.rule.endswith((".pdf", ".csv", ".ics", ".json"))}
    assert senders <= endpoints == FILE_ENDPOINTS, sorted(senders ^ endpoints)
