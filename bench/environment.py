"""The environment the benchmarked portal runs in: its own keys, instance directory and database, in a
temporary directory, so that a benchmark never touches instance/ or a developer's data."""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def portal_environment(work_dir: Path, database_url: str | None) -> dict[str, str]:
    """Variables for the seeding process, the in-process measurer and the gunicorn workers (all alike)."""
    instance = work_dir / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    return {
        "DATABASE_URL": database_url or f"sqlite:///{work_dir / 'bench.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATA_KEYS": "bench1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PORTAL_INSTANCE_DIR": str(instance),
        "MAIL_FILE": str(instance / "outbox.log"),
        # The load generator replays one cookie for the whole run: keep it alive however long the run takes.
        "SESSION_IDLE_MINUTES": "720",
    }


def apply(environment: dict[str, str]) -> None:
    """Put the variables into this process before portal is imported (portal.config reads them at import)."""
    os.environ.update(environment)


def create_migrated_app():
    """The portal app on the configured database, its schema brought up to date by the migrations."""
    from flask_migrate import upgrade

    from portal import create_app
    app = create_app()
    with app.app_context():
        upgrade()
    return app


def reset_database(app) -> None:
    """Empty the database completely (the next preset seeds from scratch)."""
    from portal.extensions import db
    with app.app_context():
        engine = db.engine
        db.session.remove()
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
        else:
            engine.dispose()
            path = Path(engine.url.database)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine.dispose()
