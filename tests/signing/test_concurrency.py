"""A signature and an edit of the same agreement at the same moment never leave a signature over content that is
not the stored content."""
from __future__ import annotations

import threading

import pytest

from portal import create_app
from portal.domain import agreements as rules
from portal.domain import signing
from portal.domain.template_store import definition_of
from portal.extensions import db
from portal.models import Agreement, User
from tests.conftest import TEST_CONFIG
from tests.factories import PASSWORD, fill_in, sign_as
from tests.signing.conftest import REQUIRED_VALUES


def _in_own_app(worker_app, work, start: threading.Barrier, errors: list, refusals: list) -> None:
    with worker_app.app_context(), worker_app.test_request_context(method="POST"):
        try:
            start.wait()
            work()
            db.session.commit()
        except (signing.SigningRefused, rules.AgreementStateError) as refusal:  # a refusal is a fine outcome
            db.session.rollback()
            refusals.append(str(refusal))
        except Exception as error:  # collected and asserted below
            db.session.rollback()
            errors.append(error)
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("run", range(3))
def test_a_second_signature_racing_an_edit_stays_consistent(world, run):
    """When the second signature and an edit arrive together, is the result always consistent: either active
    with exactly the signed content, or not active with the edit stored and every standing signature given for
    the content as it is now?"""
    fill_in(world.agreement, REQUIRED_VALUES)
    sign_as(world.fresh(), world.people["mentor"])
    agreement_id, mentee_id, mentor_id = world.agreement.id, world.people["mentee"].id, world.people["mentor"].id
    new_motto = f"Edited while signing ({run})"
    db.session.commit()  # the test's own session must not hold SQLite's write lock while the workers run

    def second_signature():
        target = db.session.get(Agreement, agreement_id)
        signing.sign(target, db.session.get(User, mentee_id), signing.SignSubmission(
            role="mentee", printed_name="Eli", password=PASSWORD, accepted=frozenset({"release"}),
            seen=signing.content_token(target)), "192.0.2.1", "race")

    def edit():
        target = db.session.get(Agreement, agreement_id)
        definition = definition_of(target.template_version)
        current = rules.read_fields(target, definition, True)["motto"]
        rules.save_field(target, definition, definition.field("motto"), new_motto, current.version,
                         db.session.get(User, mentor_id))

    errors: list = []
    refusals: list = []
    start = threading.Barrier(2, timeout=30)  # a worker that fails early must not leave the other waiting
    # The apps are built here, not in the threads: two threads compiling Werkzeug's URL rules at once can hit
    # CPython 3.11's "AST constructor recursion depth mismatch" and kill a worker before it starts.
    threads = [threading.Thread(target=_in_own_app, args=(create_app(TEST_CONFIG), work, start, errors, refusals))
               for work in (second_signature, edit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker did not finish"
    assert errors == []
    agreement = world.fresh()
    assert signing.integrity_problem(agreement) is None  # no standing signature over other content
    live = rules.read_fields(agreement, definition_of(agreement.template_version), True)["motto"].value
    version = signing.signed_version(agreement, agreement.revision)
    if version is not None:  # both signed: the edit must have been refused, the version must stand as signed
        assert agreement.state == "active"
        assert len(signing.version_signatures(version)) == 2
        assert signing.full_content(version, agreement.pair_id)["fields"]["motto"] == live
    else:
        assert live == new_motto and agreement.state in ("draft", "signing")
