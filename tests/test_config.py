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


def _production(monkeypatch, **environment):
    monkeypatch.setenv("PORTAL_PRODUCTION", "1")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATA_KEYS", "k1:" + "A" * 43 + "=")
    for name in ("MAIL_FROM", "PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


def test_production_refuses_to_start_without_a_sender_address(monkeypatch):
    """In production, without MAIL_FROM (mail would go out from no-reply@localhost), does the start stop with a
    message naming the variable?"""
    import pytest

    from portal import create_app
    from portal.config import Config, ConfigurationError
    _production(monkeypatch, PUBLIC_URL="https://mentoring.example.org")
    with pytest.raises(ConfigurationError, match="MAIL_FROM") as refused:
        Config()
    assert "PUBLIC_URL" not in str(refused.value)
    with pytest.raises(ConfigurationError, match="MAIL_FROM"):
        create_app()


def test_production_refuses_to_start_without_its_public_address(monkeypatch):
    """In production, without PUBLIC_URL (links in mail would point at 127.0.0.1), or with it blank, does the
    start stop naming it, and name both when both are missing?"""
    import pytest

    from portal.config import Config, ConfigurationError
    _production(monkeypatch, MAIL_FROM="Portal <portal@example.org>", PUBLIC_URL="  ")
    with pytest.raises(ConfigurationError, match="PUBLIC_URL"):
        Config()
    _production(monkeypatch)
    with pytest.raises(ConfigurationError, match="MAIL_FROM, PUBLIC_URL"):
        Config()


def test_production_starts_with_both_and_development_needs_neither(monkeypatch):
    """With MAIL_FROM and PUBLIC_URL set, does production start with them; and does development still start with
    neither (its defaults)?"""
    from portal.config import Config
    _production(monkeypatch, MAIL_FROM="Portal <portal@example.org>", PUBLIC_URL="https://mentoring.example.org/")
    config = Config()
    assert config.MAIL_FROM == "Portal <portal@example.org>" and config.PUBLIC_URL == "https://mentoring.example.org"
    monkeypatch.delenv("PORTAL_PRODUCTION")
    monkeypatch.delenv("MAIL_FROM")
    monkeypatch.delenv("PUBLIC_URL")
    assert Config().PUBLIC_URL == "http://127.0.0.1:5000"
