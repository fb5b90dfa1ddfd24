"""The README's production section: its env file reads the same to systemd (EnvironmentFile=) and to the cron
lines (`set -a; . /etc/portal.env; set +a` in sh), and its unit, cron and nginx examples use what ships."""
from __future__ import annotations

import re
import subprocess

from tests.live_portal import PROJECT_ROOT

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


def systemd_environment_file(text: str) -> dict[str, str]:
    """Parse `text` as systemd does an EnvironmentFile= (systemd.exec(5); the state machine of systemd's
    env-file.c): `#`/`;` comment lines, KEY=VALUE with blanks around both trimmed, single quotes literal,
    double quotes with backslash escapes for \\ " ` $ only, a backslash outside quotes escaping the next
    character, backslash-newline continuing the line; a line without "=" is ignored."""
    result: dict[str, str] = {}
    state, key, value = "pre_key", "", ""
    value_end = 0  # length of value without its trailing blanks (unquoted trailing blanks are trimmed)
    for char in text + "\n":
        if state == "pre_key":
            if char in "#;":
                state = "comment"
            elif not char.isspace():
                state, key = "key", char
        elif state == "key":
            if char == "\n":
                state, key = "pre_key", ""
            elif char == "=":
                state, value, value_end, key = "pre_value", "", 0, key.rstrip()
            else:
                key += char
        elif state == "pre_value":
            if char == "\n":
                result[key] = value[:value_end]
                state = "pre_key"
            elif char == "'":
                state = "single"
            elif char == '"':
                state = "double"
            elif char == "\\":
                state = "value_escape"
            elif not char.isspace():
                state, value = "value", value + char
                value_end = len(value)
        elif state == "value":
            if char == "\n":
                result[key] = value[:value_end]
                state = "pre_key"
            elif char == "\\":
                state = "value_escape"
            else:
                value += char
                if not char.isspace():
                    value_end = len(value)
        elif state == "value_escape":
            state = "value"
            if char != "\n":
                value += char
                value_end = len(value)
        elif state == "single":
            if char == "'":
                state = "pre_value"
            else:
                value += char
                value_end = len(value)
        elif state == "double":
            if char == '"':
                state = "pre_value"
            elif char == "\\":
                state = "double_escape"
            else:
                value += char
                value_end = len(value)
        elif state == "double_escape":
            state = "double"
            if char in '"\\`$':
                value += char
            elif char != "\n":
                value += "\\" + char
            value_end = len(value)
        elif state == "comment":
            if char == "\\":
                state = "comment_escape"
            elif char == "\n":
                state = "pre_key"
        elif state == "comment_escape":
            state = "comment"
    return result


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
