"""Configuration: development secrets are made once and reused by every process."""
from __future__ import annotations

import importlib


def test_development_secrets_are_generated_once_and_reused(tmp_path, monkeypatch):
    """Without SECRET_KEY or DATA_KEYS set, are both generated into instance/ once and then reused?"""
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATA_KEYS", raising=False)
    from portal import config as config_module
    config_module = importlib.reload(config_module)
    try:
        first, second = config_module.Config(), config_module.Config()
        assert first.SECRET_KEY == second.SECRET_KEY and len(first.SECRET_KEY) >= 40
        assert first.DATA_KEYS == second.DATA_KEYS and first.DATA_KEYS.startswith("dev1:")
        assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
    finally:
        monkeypatch.undo()
        importlib.reload(config_module)


def test_environment_wins_over_generated_secrets(monkeypatch):
    """Does a SECRET_KEY from the environment take precedence (production)?"""
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    from portal.config import Config
    assert Config().SECRET_KEY == "from-the-environment"
