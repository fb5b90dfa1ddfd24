"""The README's production section: its env file reads the same to systemd (EnvironmentFile=) and to the cron
lines (`set -a; . /etc/portal.env; set +a` in sh), and its unit, cron and nginx examples use what ships."""
from __future__ import annotations

import importlib.util
import re
import subprocess

import pytest

from tests.live_portal import PROJECT_ROOT

# The script CI runs to follow the procedure (.ci/run, step production_readme); its EnvironmentFile= parser is
# the one these tests check.
_spec = importlib.util.spec_from_file_location("follow_production_readme",
                                               PROJECT_ROOT / ".ci" / "follow_production_readme.py")
follow = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(follow)
systemd_environment_file = follow.systemd_environment_file

README = (PROJECT_ROOT / "README.md").read_text()
ENV_FILE = "/etc/portal.env"


def production_section() -> str:
    start = README.index("## Production deployment")
    end = README.index("\n## ", start + 1)
    return README[start:end]


def code_block(first_line: str) -> str:
    """The body of the README's fenced block whose first line is `first_line`."""
    match = re.search(r"```[a-z]*\n" + re.escape(first_line) + r"\n(.*?)```", production_section(), re.S)
    assert match, f"no block starting {first_line!r} in the production section"
    return match.group(1)


def sh_environment_file(path) -> dict[str, str]:
    """What the cron lines' shell exports after `set -a; . FILE; set +a` (sh is dash on Debian, as cron runs)."""
    output = subprocess.run(["sh", "-c", 'set -a; . "$1"; set +a; env -0', "sh", str(path)],
                            env={"PATH": "/usr/bin:/bin"}, check=True, capture_output=True, text=True).stdout
    return dict(item.split("=", 1) for item in output.split("\0") if item)


def test_the_parser_reads_systemd_quoting():
    """Does the systemd-style parser read quotes, escapes and comments as systemd.exec(5) says?"""
    parsed = systemd_environment_file('# c\n; c\nA=1\n B = two words \nC="x \\"y\\" \\$z \\n"\nD=\'$lit\'\nE\nF=a\\\nb\n')
    assert parsed == {"A": "1", "B": "two words", "C": 'x "y" $z \\n', "D": "$lit", "F": "ab"}


def test_the_readme_env_file_reads_the_same_in_systemd_and_in_cron(tmp_path):
    """Does the README's /etc/portal.env give every variable the same value under systemd and in the cron lines?"""
    text = code_block(f"# {ENV_FILE}")
    env_file = tmp_path / "portal.env"
    env_file.write_text(text)
    systemd = systemd_environment_file(text)
    shell = sh_environment_file(env_file)
    from portal.config import PRODUCTION_REQUIREMENTS
    for name in ("DATABASE_URL", "PORTAL_PRODUCTION", "TRUSTED_PROXIES", "MAIL_SERVER"):
        assert name in systemd, name
    missing = [name for name, given, _why in PRODUCTION_REQUIREMENTS if not given(systemd)]
    assert not missing, f"a production start with the README's file would be refused for want of {missing}"
    assert {name: shell.get(name) for name in systemd} == systemd
    assert " " in systemd["MAIL_FROM"]  # the quoted value with blanks reads the same in both


def test_the_readme_units_and_cron_use_the_env_file_and_the_gunicorn_config():
    """Do the README's systemd unit, mail sender and cron lines read /etc/portal.env the documented way and run
    gunicorn with the shipped gunicorn.conf.py?"""
    section = production_section()
    unit = code_block("# /etc/systemd/system/portal.service")
    assert f"EnvironmentFile={ENV_FILE}" in unit
    assert "gunicorn -c /srv/portal/gunicorn.conf.py wsgi:app" in unit
    assert (PROJECT_ROOT / "gunicorn.conf.py").is_file()
    cron_lines = [line for line in code_block("# /etc/cron.d/portal").splitlines()
                  if line and not line.startswith(("#", "SHELL=", "PATH="))]
    assert cron_lines and all(f"set -a; . {ENV_FILE}; set +a;" in line for line in cron_lines)
    assert "send-mail" in section and "send-reminders" in section and "purge" in section
    assert "CREATE ROLE portal" in section and "CREATE DATABASE portal OWNER portal" in section
    assert "useradd --system" in section
    assert "/etc/logrotate.d/" in section or "journalctl" in section
    assert "add_header Strict-Transport-Security" in code_block("# /etc/nginx/sites-available/portal")
    assert "/healthz" in section and "/readyz" in section


def test_ci_finds_every_block_of_the_procedure_it_follows():
    """Does CI's script find every README block it follows (so that a README edit that breaks it fails here
    first), each in a form it can run: sh commands, unit files with ExecStart=, cron.d lines with a user?"""
    blocks = follow.procedure_blocks(README)
    for role in ("database", "code", "setup", "enable", "keys", "mail_commands"):
        assert follow.shell_lines(blocks[role]), role
    for role in ("web_unit", "mail_unit"):
        assert follow.unit_service(blocks[role])["EnvironmentFile"] == ENV_FILE
    jobs = [line.split(None, 6) for line in blocks["cron"].splitlines()
            if line and not line.startswith("#") and not re.match(r"[A-Z_]+=", line)]
    assert {job[6].rsplit(" ", 1)[-1] for job in jobs} == {"send-reminders", "purge"}
    assert all(len(job) == 7 and job[5] == "portal" for job in jobs)
    assert re.fullmatch(follow.LOG_LINE, next(line for line in blocks["log_example"].splitlines()
                                              if "gunicorn.access" in line))
    assert all(re.fullmatch(follow.ANY_LOG_LINE, line) for line in blocks["log_example"].splitlines())
    assert all(re.search(r"#\s*(SECRET_KEY|DATA_KEYS)\s*$", line) for line in follow.shell_lines(blocks["keys"]))


def test_ci_fails_loudly_when_a_block_is_missing_or_unknown():
    """Does the script refuse a README whose cron block is gone, or that has a block it would not run?"""
    without_cron = re.sub(r"```cron\n.*?```\n", "", README, flags=re.S)
    with pytest.raises(follow.ProcedureError, match="cron"):
        follow.procedure_blocks(without_cron)
    extra = README.replace("### Health checks", "```sh\nsudo make-it-so\n```\n\n### Health checks")
    with pytest.raises(follow.ProcedureError, match="does not know"):
        follow.procedure_blocks(extra)
