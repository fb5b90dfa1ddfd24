"""A portal whose database cannot be opened (a SQLite file in a directory that does not exist)."""
from __future__ import annotations

from portal import create_app
from tests.conftest import TEST_CONFIG, PortalClient


def portal_on_a_missing_database(tmp_path):
    portal = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'no-such-dir' / 'p.db'}"})
    portal.test_client_class = PortalClient
    return portal
