"""Configuration: development secrets are made once and reused by every process."""
from __future__ import annotations

import importlib

import pytest


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
    monkeypatch.setenv("SECRET_KEY", "from-the-environment-" + "x" * 32)
    monkeypatch.setenv("DATA_KEYS", "k1:" + "A" * 43 + "=")
    monkeypatch.setenv("PDF_SIGNING_PKCS12", "/the/bundle.p12")  # only named: Config does not read it
    for name in ("MAIL_FROM", "PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


def test_production_refuses_to_start_without_a_sender_address(monkeypatch):
    """In production, without MAIL_FROM (mail would go out from no-reply@localhost), does the start stop with a
    message naming the variable?"""
    import pytest

    from portal import create_app
    from portal.config import Config, ProductionConfigError
    _production(monkeypatch, PUBLIC_URL="https://mentoring.example.org")
    with pytest.raises(ProductionConfigError, match="MAIL_FROM") as refused:
        Config()
    assert "PUBLIC_URL" not in str(refused.value)
    with pytest.raises(ProductionConfigError, match="MAIL_FROM"):
        create_app()


def test_production_refuses_to_start_without_its_public_address(monkeypatch):
    """In production, without PUBLIC_URL (links in mail would point at 127.0.0.1), or with it blank, does the
    start stop naming it, and name both when both are missing?"""
    import pytest

    from portal.config import Config, ProductionConfigError
    _production(monkeypatch, MAIL_FROM="Portal <portal@example.org>", PUBLIC_URL="  ")
    with pytest.raises(ProductionConfigError, match="PUBLIC_URL"):
        Config()
    _production(monkeypatch)
    with pytest.raises(ProductionConfigError, match="MAIL_FROM.*PUBLIC_URL"):
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


WEAK_SETTINGS = [
    ("SECRET_KEY", "short-secret-31-characters-long", "shorter than 32"),
    ("SECRET_KEY", "paste-the-generated-secret-key-here", "placeholder"),
    ("PUBLIC_URL", "http://mentoring.example.org", "https://"),
    ("PUBLIC_URL", "mentoring.example.org", "https://"),
    ("PUBLIC_URL", "https://", "https://"),
    ("PUBLIC_URL", "https:///agreements", "https://"),
    ("MAIL_FROM", "Mentorship Portal", "e-mail address"),
    ("MAIL_FROM", "Portal <portal>", "e-mail address"),
]


@pytest.mark.parametrize(("name", "value", "reason"), WEAK_SETTINGS)
def test_production_refuses_weak_or_placeholder_settings(monkeypatch, name, value, reason):
    """In production, does a short or placeholder SECRET_KEY, a PUBLIC_URL that is not an absolute https://
    address, or a MAIL_FROM without an e-mail address stop the start, naming the setting and why, without
    showing a secret's value?"""
    from portal.config import Config, ProductionConfigError
    _production(monkeypatch, **{"MAIL_FROM": "Portal <portal@example.org>",
                                "PUBLIC_URL": "https://mentoring.example.org", name: value})
    with pytest.raises(ProductionConfigError) as refused:
        Config()
    message = str(refused.value)
    assert name in message and reason in message
    if name == "SECRET_KEY":
        assert value not in message


@pytest.mark.parametrize("value", ["ture", "2", "production", "enabled"])
def test_an_unreadable_production_switch_stops_the_start(monkeypatch, value):
    """Does a PORTAL_PRODUCTION that is not a yes/no value (a typo such as "ture") stop the start, naming it,
    instead of silently running in development mode?"""
    from portal.config import Config, ConfigError
    _production(monkeypatch, MAIL_FROM="Portal <portal@example.org>", PUBLIC_URL="https://mentoring.example.org",
                PORTAL_PRODUCTION=value)
    with pytest.raises(ConfigError, match=f"PORTAL_PRODUCTION={value} is not a yes/no value"):
        Config()


@pytest.mark.parametrize(("value", "production"), [("1", True), ("TRUE", True), (" Yes ", True), ("on", True),
                                                   ("0", False), ("False", False), ("no", False), ("OFF", False),
                                                   ("", False), ("  ", False)])
def test_the_production_switch_reads_the_usual_yes_and_no_words(monkeypatch, value, production):
    """Are 1/0, true/false, yes/no and on/off (any case) read as on and off, and a blank as off?"""
    from portal.config import Config
    _production(monkeypatch, MAIL_FROM="Portal <portal@example.org>", PUBLIC_URL="https://mentoring.example.org",
                PORTAL_PRODUCTION=value)
    assert Config().PRODUCTION is production


def test_other_switches_keep_reading_unknown_words_as_off(monkeypatch):
    """Is the strict reading limited to PORTAL_PRODUCTION: does MAIL_USE_TLS=maybe still mean off?"""
    from portal.config import Config
    monkeypatch.setenv("MAIL_USE_TLS", "maybe")
    assert Config().MAIL_USE_TLS is False


def _production_env(monkeypatch, tmp_path, **settings):
    """A production environment holding only `settings`, with instance/ in tmp_path."""
    monkeypatch.setenv("PORTAL_PRODUCTION", "1")
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setattr("portal.config.INSTANCE_DIR", tmp_path)  # read once at import
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    for name in ("SECRET_KEY", "DATA_KEYS", "DATA_KEYS_FILE", "PDF_SIGNING_PKCS12", "PDF_SIGNING_CERT",
                 "PDF_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIL_FROM", "Portal <portal@example.org>")
    monkeypatch.setenv("PUBLIC_URL", "https://mentoring.example.org")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


def _signing_files(tmp_path) -> dict:
    from portal import pdf_signing
    identity = pdf_signing.new_identity("Mentorship Agreement Portal test")
    (tmp_path / "cert.pem").write_bytes(identity.cert_pem)
    (tmp_path / "key.pem").write_bytes(identity.key_pem)
    return {"PDF_SIGNING_CERT": str(tmp_path / "cert.pem"), "PDF_SIGNING_KEY": str(tmp_path / "key.pem")}


DATA_KEYS = "prod1:" + "B" * 43 + "="


def _refusal(monkeypatch, tmp_path, **settings) -> str:
    from portal import create_app
    _production_env(monkeypatch, tmp_path, **settings)
    with pytest.raises(RuntimeError) as refused:
        create_app()
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "data_key").exists()
    return str(refused.value)


def test_production_start_without_secret_key_is_refused(tmp_path, monkeypatch):
    """In production, does a start without SECRET_KEY stop and say that SECRET_KEY is missing (and nothing
    else), instead of generating one into instance/?"""
    message = _refusal(monkeypatch, tmp_path, DATA_KEYS=DATA_KEYS, **_signing_files(tmp_path))
    assert "SECRET_KEY" in message and "DATA_KEYS" not in message and "PDF_SIGNING" not in message


def test_production_start_without_data_keys_is_refused(tmp_path, monkeypatch):
    """In production, does a start without DATA_KEYS stop and say that DATA_KEYS is missing?"""
    message = _refusal(monkeypatch, tmp_path, SECRET_KEY="s" * 48, **_signing_files(tmp_path))
    assert "DATA_KEYS" in message and "SECRET_KEY" not in message


def test_production_start_without_pdf_signing_key_is_refused(tmp_path, monkeypatch):
    """In production, does a start without a configured PDF signing key stop and say so, instead of generating
    a self-signed one into instance/?"""
    message = _refusal(monkeypatch, tmp_path, SECRET_KEY="s" * 48, DATA_KEYS=DATA_KEYS)
    assert "PDF_SIGNING" in message and "SECRET_KEY" not in message and "DATA_KEYS" not in message
    assert not (tmp_path / "pdf_signing_key.pem").exists()


def test_production_start_with_everything_configured_starts(tmp_path, monkeypatch):
    """With SECRET_KEY, DATA_KEYS and the signing key given, does a production start succeed and generate
    nothing into instance/?"""
    from portal import create_app
    _production_env(monkeypatch, tmp_path, SECRET_KEY="s" * 48, DATA_KEYS=DATA_KEYS, **_signing_files(tmp_path))
    app = create_app()
    assert app.config["PRODUCTION"] and app.config["DATA_KEYS"] == DATA_KEYS
    assert not list(tmp_path.glob("secret_key*")) and not list(tmp_path.glob("data_key*"))
    assert not (tmp_path / "pdf_signing_key.pem").exists()


def test_data_keys_can_come_from_a_file(tmp_path, monkeypatch):
    """With DATA_KEYS_FILE (one key a line, # comments), are its keys used, the first line encrypting?"""
    from portal.config import Config
    key_file = tmp_path / "data_keys"
    key_file.write_text(f"# rotated 2026-12-07\nnew1:{'C' * 43}=\n\nold1:{'B' * 43}=\n")
    monkeypatch.delenv("DATA_KEYS", raising=False)
    monkeypatch.setenv("DATA_KEYS_FILE", str(key_file))
    assert Config().DATA_KEYS == f"new1:{'C' * 43}=,old1:{'B' * 43}="


def test_an_unreadable_data_keys_file_stops_the_start_naming_it(tmp_path, monkeypatch):
    """Does a DATA_KEYS_FILE that cannot be read stop the start with a message naming the setting?"""
    from portal.config import Config
    monkeypatch.delenv("DATA_KEYS", raising=False)
    monkeypatch.setenv("DATA_KEYS_FILE", str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="DATA_KEYS_FILE"):
        Config()
