#!/usr/bin/env python3
"""Follow README.md's "Production deployment" procedure verbatim on this machine, then check the result as an
operator would (issue 22). Run by .ci/run (step production_readme); stdlib only.

The commands run are the README's fenced blocks themselves, read at run time: a change to the README changes
what this runs, and a block it expects but cannot find (or a block it does not know) fails the run. The only
changes made to them are the substitutions below; each is printed when applied ("substitution: ..."):

* /srv/portal -> a fresh `git clone` of this repository in a temp dir; /etc/portal.env -> a temp file;
  /etc/portal/ (the data keys file and the signing certificate) -> a temp dir.
* `sudo -u postgres psql` -> psql as superuser of a throwaway PostgreSQL cluster this script starts (the server
  binaries of Debian's postgresql package, as .ci/with-postgres); the portal role logs in over TCP with its
  password (scram-sha-256), as on a real server.
* `sudo -u portal` and `sudo` -> the current user (root in CI). useradd and chown run for real as root (a
  `portal` user that already exists is kept); not as root they are skipped.
* `apt-get install` -> skipped; the packages' programs must be present (nginx is optional, see below).
* The clone's .venv -> a symlink to this checkout's .venv when there is one, with the clone's requirements
  files dated as this checkout's, so the README's make target finds the installation up to date instead of
  downloading it again.
* In the env file: the placeholder keys -> keys made with the README's own "Generate keys with" commands;
  DATABASE_URL's host gets the cluster's port; MAIL_SERVER/MAIL_PORT -> an SMTP sink on loopback started here;
  BIND -> a free loopback port.
* systemd units -> ExecStart= run in the background, in WorkingDirectory=, with EnvironmentFile= read as
  systemd reads it (systemd_environment_file below); `systemctl` lines -> starting those two commands.
* cron lines -> each command run once as cron would (`SHELL -c`, the crontab's PATH, in the user's home);
  `systemd-cat -t NAME` -> dropped when there is no journald on this machine (its output is printed instead).
* nginx -> not started; its block is checked with `nginx -t` when nginx is installed, else skipped.
* journald's drop-in -> not installed (nothing here reads it); `mail retry 42` -> skipped (no such message).

Then: /healthz and /readyz answer 200, the admin made by `create-admin` signs in and gets the home page, a
program admin appointed over HTTP gets the invitation through the mail service into the sink, the access log
line has the README's format and the request id nginx would send, the database is at the newest migration, and
the cron commands exit 0. Every process started (gunicorn, mail sender, cluster) is stopped, also on failure.
"""
from __future__ import annotations

import email
import email.policy
import html.parser
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import http.client
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SERVICE_DIR = "/srv/portal"
ENV_FILE = "/etc/portal.env"
SECRETS_DIR = "/etc/portal"
PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
ADMIN_PASSWORD = "a long production-readme password"
ANY_LOG_LINE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \[\d+\] \S+ rid=\S+ .*"
LOG_LINE = (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \[\d+\] gunicorn\.access rid=(?P<rid>[A-Za-z0-9._-]+) "
            r'\S+ "(?P<request>[A-Z]+ \S+)" (?P<status>\d{3}) \d+ \d+ms')


class ProcedureError(Exception):
    """The README's procedure, as followed here, did not give what it promises (or a block is missing)."""


def say(message: str) -> None:
    print(f"[readme] {message}", flush=True)


def substitution(message: str) -> None:
    say(f"substitution: {message}")


# --- the README's blocks ------------------------------------------------------------------------------------
def production_section(readme: str) -> str:
    start = readme.find("## Production deployment")
    if start < 0:
        raise ProcedureError('README.md has no "## Production deployment" section')
    end = readme.find("\n## ", start + 1)
    return readme[start:end if end >= 0 else len(readme)]


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    return re.findall(r"^```([a-z]*)\n(.*?)^```", text, re.S | re.M)


def procedure_blocks(readme: str) -> dict[str, str]:
    """The README blocks this script follows, by role. Fails loudly when one is missing, or when the production
    section has a block this script does not know (it would otherwise be left out silently)."""
    section = production_section(readme)
    wanted = {  # role: how its block is recognised
        "database": lambda body: "sudo -u postgres psql" in body,
        "code": lambda body: "git clone" in body and "useradd" in body,
        "secrets": lambda body: f"{SECRETS_DIR}/data_keys" in body and "openssl" in body,
        "env": lambda body: body.startswith(f"# {ENV_FILE}\n"),
        "setup": lambda body: "db upgrade" in body and "create-admin" in body,
        "web_unit": lambda body: body.startswith("# /etc/systemd/system/portal.service\n"),
        "mail_unit": lambda body: body.startswith("# /etc/systemd/system/portal-mail.service\n"),
        "enable": lambda body: "systemctl" in body and "enable" in body,
        "cron": lambda body: body.startswith("# /etc/cron.d/portal\n"),
        "nginx": lambda body: body.startswith("# /etc/nginx/sites-available/portal\n"),
        "mail_commands": lambda body: "mail failed" in body,
        "log_example": lambda body: "gunicorn.access rid=" in body,
        "journald": lambda body: body.startswith("# /etc/systemd/journald.conf.d/"),
    }
    found: dict[str, str] = {}
    for language, body in fenced_blocks(section):
        roles = [role for role, matches in wanted.items() if matches(body)]
        if len(roles) != 1:
            raise ProcedureError(f"README production section: a ```{language} block this script "
                                 f"{'does not know' if not roles else 'cannot tell apart: ' + ', '.join(roles)} "
                                 f"(teach .ci/follow_production_readme.py to follow it):\n{body}")
        if roles[0] in found:
            raise ProcedureError(f"README production section: two blocks for {roles[0]}")
        found[roles[0]] = body
    keys = [body for _, body in fenced_blocks(readme) if "token_urlsafe" in body and "DATA_KEYS" in body]
    if len(keys) == 1:
        found["keys"] = keys[0]
    missing = [role for role in (*wanted, "keys") if role not in found]
    if missing:
        raise ProcedureError(f"README.md: no block found for {', '.join(missing)} (expected in 'Production "
                             "deployment', the key generation in 'Configuration')")
    return found


def shell_lines(body: str) -> list[str]:
    """The commands of a sh block: comments and blank lines dropped, backslash continuations joined."""
    lines, pending = [], ""
    for line in body.splitlines():
        if pending:
            line = pending + line.lstrip()
            pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append(line.strip())
    return lines


def unit_service(body: str) -> dict[str, str]:
    """The [Service] settings of a unit file block."""
    settings, current = {}, None
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("["):
            current = line
        elif current == "[Service]" and "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            if key.strip() == "ExecReload":  # systemd runs several in order, stopping at the first that fails
                settings.setdefault("ExecReload", []).append(value.strip())
            else:
                settings[key.strip()] = value.strip()
    for key in ("ExecStart", "EnvironmentFile", "WorkingDirectory"):
        if key not in settings:
            raise ProcedureError(f"README unit block has no {key}=:\n{body}")
    return settings


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


# --- the machine's stand-ins ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class SmtpSink(socketserver.ThreadingTCPServer):
    """A minimal SMTP server on loopback keeping every message it is given (RCPT addresses and data)."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.messages: list[tuple[list[str], str]] = []
        super().__init__(("127.0.0.1", 0), _SmtpSession)


class _SmtpSession(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink ESMTP")
        recipients: list[str] = []
        while True:
            line = self.rfile.readline().decode(errors="replace")
            if not line:
                return
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 ok")
            elif verb == "RCPT":
                recipients.append(line.partition(":")[2].strip().strip("<>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while (chunk := self.rfile.readline().decode(errors="replace")) not in (".\r\n", ".\n", ""):
                    data.append(chunk[1:] if chunk.startswith(".") else chunk)
                self.server.messages.append((recipients, "".join(data)))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # RSET, NOOP and the rest
                self.reply("250 ok")


class Cluster:
    """A throwaway PostgreSQL cluster (as .ci/with-postgres): its superuser through the unix socket without a
    password, everyone over TCP with a password."""

    def __init__(self):
        self.bin = next((Path(d) for d in (os.environ.get("PG_BIN"), *PG_BIN_DIRS,
                                           *sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin")),
                                                   reverse=True)) if d and (Path(d) / "initdb").is_file()), None)
        if self.bin is None:
            raise ProcedureError("PostgreSQL server binaries not found (run .ci/with-postgres true once)")
        self.root = Path(tempfile.mkdtemp(prefix="readme-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        if self.as_root:
            command = ("runuser", "-u", "postgres", "--", *command)
        subprocess.run(command, check=True, cwd="/", capture_output=True, timeout=60)

    def start(self) -> None:
        if self.as_root:
            if not user_exists("postgres"):
                subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                                "/var/lib/postgresql", "--shell", "/usr/sbin/nologin", "postgres"], check=True)
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(str(self.bin / "initdb"), f"--pgdata={self.data}", "--username=postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        settings = (f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.root}'\nfsync = off\n")
        self._run("sh", "-c", 'printf "%s" "$1" >> "$2"', "sh", settings, str(self.data / "postgresql.conf"))
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-w", "-t", "30", "start")
        say(f"PostgreSQL {self.bin} cluster on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
            except subprocess.CalledProcessError:
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self) -> str:
        return f"psql -h {self.root} -p {self.port} -U postgres"


# --- following the blocks -------------------------------------------------------------------------------------
class Follower:
    def __init__(self, blocks: dict[str, str], work: Path, cluster: Cluster, sink: SmtpSink):
        self.blocks = blocks
        self.work = work
        self.cluster = cluster
        self.sink = sink
        self.service_dir = work / "srv-portal"
        self.env_file = work / "portal.env"
        self.secrets_dir = work / "etc-portal"
        self.cwd = work
        self.processes: list[subprocess.Popen] = []
        self.logs: dict[str, Path] = {}
        self.main_pids: dict[str, int] = {}
        self.port = free_port()
        self.env: dict[str, str] = {}
        self.admin_email = ""

    # One line of a sh block, with the documented substitutions.
    def rewrite(self, line: str) -> str | None:
        original = line
        if re.match(r"(sudo )?apt-get install", line):
            packages = line.split("install", 1)[1].split()
            programs = {"postgresql": str(self.cluster.bin / "initdb"), "nginx": "nginx", "make": "make",
                        "git": "git", "python3-venv": "python3"}
            missing = [name for name in packages if not shutil.which(programs.get(name, name))]
            if set(missing) - {"nginx"}:
                raise ProcedureError(f"not installed here: {', '.join(missing)} (needed by: {line})")
            substitution(f"skipped `{line}`: its programs are installed"
                         + (f" (except {', '.join(missing)}, not needed here)" if missing else ""))
            return None
        if "sudo -u postgres psql" in line:
            line = line.replace("sudo -u postgres psql", self.cluster.psql())
        line = line.replace("sudo -u portal ", "").replace("sudo ", "")
        if "<this repository>" in line:
            line = line.replace("<this repository>", str(REPO))
            if subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True,
                              text=True).stdout.strip():
                say("note: the clone holds this checkout's last commit; its uncommitted changes are not in it")
        line = self.local_paths(line)
        if re.match(r"useradd\b", line) or re.match(r"chown\b", line):
            if os.geteuid() != 0:
                substitution(f"skipped `{original}`: not root")
                return None
            if line.startswith("useradd") and user_exists(line.split()[-1]):
                substitution(f"skipped `{original}`: user {line.split()[-1]} already exists")
                return None
        if line != original:
            substitution(f"`{original}` -> `{line}`")
        return line

    def local_paths(self, text: str) -> str:
        """/srv/portal, /etc/portal.env and /etc/portal/ -> their places in the temp dir."""
        text = text.replace(SERVICE_DIR, str(self.service_dir)).replace(ENV_FILE, str(self.env_file))
        return re.sub(re.escape(SECRETS_DIR) + r"(?=/|\s|$)", str(self.secrets_dir), text)

    def run_shell_block(self, role: str, stdin: str = "") -> None:
        say(f"--- README block: {role}")
        for command in shell_lines(self.blocks[role]):
            command = self.rewrite(command)
            if command is None:
                continue
            moved = re.match(r"cd (\S+)(?: && (.*))?$", command)
            if moved:
                self.cwd = Path(moved.group(1))
                command = moved.group(2)
                if not command:
                    say(f"$ cd {self.cwd}")
                    continue
            say(f"$ {command}   (in {self.cwd})")
            result = subprocess.run(["sh", "-c", command], cwd=self.cwd, input=stdin, text=True,
                                    start_new_session=True)  # no terminal: click reads the password from stdin
            if result.returncode != 0:
                raise ProcedureError(f"`{command}` exited with {result.returncode}")
            if "git clone" in command:
                self.share_venv()
            if "create-admin" in command:
                self.admin_email = re.search(r"create-admin (\S+)", command).group(1)

    def share_venv(self) -> None:
        venv = REPO / ".venv"
        if not venv.exists():
            say("no .venv in this checkout: the README's make target installs one in the clone")
            return
        (self.service_dir / ".venv").symlink_to(venv.resolve())
        # Dated as the venv's creation: older than any stamp its installs left, so make finds it installed.
        created = (venv / "pyvenv.cfg").stat()
        for requirements in self.service_dir.glob("requirements*.txt"):
            os.utime(requirements, ns=(created.st_atime_ns, created.st_mtime_ns))
        substitution(f"{self.service_dir}/.venv -> {venv.resolve()} (the clone's requirements files dated as "
                     "that venv's creation, so the make target finds it installed)")

    def write_env_file(self) -> None:
        say(f"--- README block: env ({ENV_FILE} -> {self.env_file})")
        generated = {}
        for command in shell_lines(self.blocks["keys"]):
            value = subprocess.run(["sh", "-c", command], check=True, capture_output=True, text=True).stdout.strip()
            names = re.findall(r"#\s*([A-Z_]+)\s*$", command)  # each line names its variable in a comment
            if not names:
                raise ProcedureError(f"the README's key command does not say which key it makes: {command}")
            generated[names[0]] = value
        lines = []
        for line in self.blocks["env"].splitlines():
            name, equals, value = line.partition("=")
            new = value
            if equals and not line.startswith("#"):
                if "paste-the-generated" in value and name in generated:
                    new = generated[name]
                    substitution(f"{name}: the placeholder -> a key from the README's 'Generate keys with'")
                elif name == "DATABASE_URL":
                    new = re.sub(r"@([^/:@]+)(:\d+)?/", lambda m: f"@{m.group(1)}:{self.cluster.port}/", value)
                    substitution(f"DATABASE_URL {value} -> {new} (the throwaway cluster's port)")
                elif name == "MAIL_SERVER":
                    new = "127.0.0.1"
                    substitution(f"MAIL_SERVER {value} -> {new} (the SMTP sink)")
                elif name == "MAIL_PORT":
                    new = str(self.sink.server_address[1])
                    substitution(f"MAIL_PORT {value} -> {new} (the SMTP sink)")
                elif value.startswith(SECRETS_DIR + "/"):
                    new = self.local_paths(value)
                    substitution(f"{name} {value} -> {new}")
                elif name == "BIND":
                    new = f"127.0.0.1:{self.port}"
                    substitution(f"BIND {value} -> {new} (a free port)")
            lines.append(f"{name}{equals}{new}")
        self.env_file.write_text("\n".join(lines) + "\n")
        self.env = systemd_environment_file(self.env_file.read_text())
        for name in ("DATABASE_URL", "SECRET_KEY", "PUBLIC_URL", "BIND"):
            if name not in self.env:
                raise ProcedureError(f"the README's env file sets no {name}")

    def start_unit(self, role: str) -> None:
        settings = unit_service(self.blocks[role])
        name = self.blocks[role].splitlines()[0].rsplit("/", 1)[-1]
        command = settings["ExecStart"].replace(SERVICE_DIR, str(self.service_dir))
        directory = settings["WorkingDirectory"].replace(SERVICE_DIR, str(self.service_dir))
        env_file = settings["EnvironmentFile"].lstrip("-")
        if env_file != ENV_FILE:
            raise ProcedureError(f"{name} reads {env_file}, not {ENV_FILE}")
        substitution(f"systemd starts {name} -> `{command}` in {directory} with {self.env_file} read as "
                     f"systemd reads it, as {pwd.getpwuid(os.geteuid()).pw_name} not {settings.get('User')}")
        environment = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                       **systemd_environment_file(self.env_file.read_text())}
        notify = None
        if settings.get("Type") == "notify":
            # As systemd: a datagram socket in NOTIFY_SOCKET; the start counts only once READY=1 arrives (from
            # the main process when NotifyAccess=main), within TimeoutStartSec (90 s by default).
            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            notify.bind(str(self.work / f"{name}.notify"))
            environment["NOTIFY_SOCKET"] = str(self.work / f"{name}.notify")
        log = self.work / f"{name}.log"
        self.logs[name] = log
        with open(log, "wb") as output:
            process = subprocess.Popen(shlex.split(command), cwd=directory, env=environment, stdout=output,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append(process)
        if notify is not None:
            with notify:
                # systemd.service(5): with Type=notify a missing NotifyAccess= (or "none") is forced to "main".
                access = settings.get("NotifyAccess", "main")
                self.wait_for_ready(notify, process, name, "main" if access == "none" else access)
        self.main_pids[name] = process.pid

    def wait_for_ready(self, notify: socket.socket, process: subprocess.Popen, name: str, access: str) -> None:
        if access not in ("main", "all"):
            raise ProcedureError(f"{name} is Type=notify with NotifyAccess={access}: systemd would drop READY=1")
        deadline = time.monotonic() + 90
        credentials = struct.calcsize("3i")
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ProcedureError(f"{name} stopped before it was ready:\n{self.logs[name].read_text()[-3000:]}")
            notify.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
            try:
                message, ancillary, _, _ = notify.recvmsg(4096, socket.CMSG_SPACE(credentials))
            except socket.timeout:
                continue
            sender = next((struct.unpack("3i", data[:credentials])[0] for level, kind, data in ancillary
                           if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), None)
            if "READY=1" in message.decode(errors="replace").splitlines():
                if access == "main" and sender != process.pid:
                    raise ProcedureError(f"{name}: READY=1 came from pid {sender}, not the main process "
                                         f"{process.pid} (NotifyAccess=main would drop it)")
                say(f"{name}: READY=1 from its main process, as Type=notify needs")
                return
        raise ProcedureError(f"{name} is Type=notify but sent no READY=1 within 90 s: systemd would stop it")

    def reload_unit(self, role: str) -> None:
        """`systemctl reload`: the unit's ExecReload=, with $MAINPID the main process."""
        settings = unit_service(self.blocks[role])
        name = self.blocks[role].splitlines()[0].rsplit("/", 1)[-1]
        if "ExecReload" not in settings:
            raise ProcedureError(f"the README says `systemctl reload` replaces the workers, but {name} has no "
                                 "ExecReload=")
        for line in settings["ExecReload"]:
            command = self.local_paths(line.replace("$MAINPID", str(self.main_pids[name])))
            say(f"systemctl reload {name.removesuffix('.service')} -> `{command}` (in {settings['WorkingDirectory']}"
                " with the env file)")
            environment = {**os.environ, **systemd_environment_file(self.env_file.read_text())}
            subprocess.run(shlex.split(command), check=True, env=environment,
                           cwd=self.local_paths(settings["WorkingDirectory"]))

    def run_cron(self) -> None:
        say("--- README block: cron")
        journald = Path("/run/systemd/journal/stdout").exists()
        environment = {"HOME": str(self.service_dir), "LOGNAME": "portal", "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
        jobs = []
        for line in self.blocks["cron"].splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            if re.match(r"[A-Z_]+=", line):
                name, _, value = line.partition("=")
                environment[name] = value
                continue
            fields = line.split(None, 6)
            if len(fields) != 7:
                raise ProcedureError(f"not a cron.d line (minute hour day month weekday user command): {line}")
            jobs.append(fields[6])
        if not jobs:
            raise ProcedureError("the README's cron block has no job")
        for job in jobs:
            command = job.replace(SERVICE_DIR, str(self.service_dir)).replace(ENV_FILE, str(self.env_file))
            substitution(f"paths in `{job}`")
            if not journald and "systemd-cat" in command:
                command = re.sub(r"systemd-cat -t \S+ ", "", command)
                substitution("`systemd-cat -t ...` dropped: no journald here (the output is printed)")
            say(f"$ {environment['SHELL']} -c '{command}'")
            result = subprocess.run([environment["SHELL"], "-c", command], cwd=self.service_dir, env=environment,
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
            print(result.stdout + result.stderr, end="", flush=True)
            if result.returncode != 0:
                raise ProcedureError(f"cron job exited with {result.returncode}: {command}")

    def run_mail_commands(self) -> None:
        say("--- README block: mail_commands")
        for command in shell_lines(self.blocks["mail_commands"]):
            command = command.split("#", 1)[0].strip()
            if re.search(r"mail retry \d+", command):
                substitution(f"skipped `{command}`: there is no such failed message here")
                continue
            say(f"$ {command}   (in {self.service_dir}, with the env file)")
            result = subprocess.run(["sh", "-c", f"set -a; . {self.env_file}; set +a; {command}"],
                                    cwd=self.service_dir, capture_output=True, text=True, timeout=60)
            print(result.stdout + result.stderr, end="", flush=True)
            if result.returncode != 0:
                raise ProcedureError(f"`{command}` exited with {result.returncode}")

    def check_nginx(self) -> None:
        nginx = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
        if not nginx:
            say("nginx: skipped (not installed here; nothing is proxied, the checks send its headers themselves)")
            return
        site = self.blocks["nginx"]
        certificates = set(re.findall(r"ssl_certificate(?:_key)? (\S+);", site))
        if certificates:
            certificate, key = self.work / "nginx.crt", self.work / "nginx.key"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                            "/CN=localhost", "-keyout", str(key), "-out", str(certificate)], check=True,
                           capture_output=True)
            for path in certificates:
                site = site.replace(path, str(key if "privkey" in path or "key" in Path(path).name else certificate))
            substitution("nginx certificate paths -> a self-signed pair made here")
        config = self.work / "nginx.conf"
        config.write_text(f"pid {self.work}/nginx.pid;\nerror_log {self.work}/nginx-error.log;\nevents {{}}\n"
                          f"http {{\n{site}\n}}\n")
        result = subprocess.run([nginx, "-t", "-c", str(config), "-p", str(self.work)], capture_output=True,
                                text=True)
        print(result.stdout + result.stderr, end="", flush=True)
        if result.returncode != 0:
            raise ProcedureError("nginx -t rejects the README's nginx block")
        say("nginx -t: the README's site block parses")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# --- the operator's checks ------------------------------------------------------------------------------------
class Inputs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""


class Browser:
    """HTTP to gunicorn with the headers nginx adds (client address, https, a request id) and a cookie jar."""

    def __init__(self, port: int, public_url: str):
        self.port = port
        self.host = urllib.parse.urlsplit(public_url).netloc
        self.public_url = public_url.rstrip("/")
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, request_id: str | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": self.host, "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                   "X-Request-ID": request_id or secrets.token_hex(16)}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = self.public_url + path
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            connection.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response, text

    def form_values(self, path: str) -> dict[str, str]:
        response, text = self.request("GET", path)
        if response.status != 200:
            raise ProcedureError(f"GET {path} answered {response.status}")
        parser = Inputs()
        parser.feed(text)
        return parser.values


def wait_until_ready(browser: Browser, processes: list[subprocess.Popen], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise ProcedureError(f"a service stopped:\n{log.read_text()[-3000:]}")
        try:
            response, _ = browser.request("GET", "/healthz")
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise ProcedureError(f"gunicorn did not answer /healthz within 60 s:\n{log.read_text()[-3000:]}")


def check_as_operator(follower: Follower) -> None:
    browser = Browser(follower.port, follower.env["PUBLIC_URL"])
    wait_until_ready(browser, follower.processes, follower.logs["portal.service"])
    for path, body in (("/healthz", "ok"), ("/readyz", "ready")):
        request_id = secrets.token_hex(16)
        response, text = browser.request("GET", path, request_id=request_id)
        if response.status != 200 or text.strip() != body:
            raise ProcedureError(f"GET {path}: {response.status} {text[:200]!r}")
        if response.getheader("Set-Cookie"):
            raise ProcedureError(f"GET {path} sets a cookie; the README says neither health check does")
        if response.getheader("X-Request-ID") != request_id:
            raise ProcedureError(f"GET {path} did not keep the request id its proxy sent (TRUSTED_PROXIES): "
                                 f"{response.getheader('X-Request-ID')} instead of {request_id}")
        say(f"GET {path}: 200 {body}, no cookie, X-Request-ID kept from the proxy")
    readyz_id = request_id

    values = browser.form_values("/auth/sign-in")
    values.update(email=follower.admin_email, password=ADMIN_PASSWORD)
    response, text = browser.request("POST", "/auth/sign-in", values)
    if response.status not in (302, 303):
        raise ProcedureError(f"the admin from create-admin cannot sign in: {response.status} {text[:500]}")
    response, text = browser.request("GET", "/")
    if response.status != 200:
        raise ProcedureError(f"the home page after sign-in answered {response.status}")
    say(f"signed in as {follower.admin_email}; home page 200")
    nginx_hsts = re.search(r'add_header Strict-Transport-Security "([^"]+)"', follower.blocks["nginx"])
    if not nginx_hsts or response.getheader("Strict-Transport-Security") != nginx_hsts.group(1):
        raise ProcedureError(f"the portal sends Strict-Transport-Security "
                             f"{response.getheader('Strict-Transport-Security')!r}, the README's nginx block "
                             f"{nginx_hsts and nginx_hsts.group(1)!r}: 'the same header'")
    say("the home page has the same Strict-Transport-Security as the README's nginx block")

    values = browser.form_values("/admin/programs")
    values.update({"name": "Readme Program", "code": "README", "return_email": "office@example.org",
                   "default_term_months": "6"})
    response, text = browser.request("POST", "/admin/programs", values)
    if response.status != 303:
        raise ProcedureError(f"creating a program answered {response.status}: {text[:500]}")
    program_path = urllib.parse.urlsplit(response.getheader("Location")).path
    values = browser.form_values(program_path)
    invited = "lead@example.org"
    values.update({"appoint-email": invited, "appoint-name": "Lee Lead"})
    response, text = browser.request("POST", f"{program_path}/admins", values)
    if response.status != 303:
        raise ProcedureError(f"appointing a program admin answered {response.status}: {text[:500]}")
    say(f"created a program and appointed {invited}; waiting for the mail service to deliver the invitation")
    deadline = time.monotonic() + 30
    while not any(invited in recipients for recipients, _ in follower.sink.messages):
        if time.monotonic() > deadline:
            raise ProcedureError("the mail service did not deliver the invitation within 30 s:\n"
                                 + follower.logs["portal-mail.service"].read_text()[-3000:])
        time.sleep(0.3)
    say(f"the SMTP sink received the invitation for {invited}")
    data = next(data for recipients, data in follower.sink.messages if invited in recipients)
    message = email.message_from_string(data, policy=email.policy.default)
    public_host = urllib.parse.urlsplit(follower.env["PUBLIC_URL"]).hostname
    if not message["Date"] or not str(message["Message-ID"] or "").endswith(f"@{public_host}>"):
        raise ProcedureError(f"the invitation lacks a Date or a Message-ID under {public_host}: {message.items()}")
    if not message.get_body(("plain",)):
        raise ProcedureError("the invitation has no plain-text part")
    say(f"it has a Date, a Message-ID under {public_host} and a plain-text part, as 'Mail delivery' says")

    example = next(line for line in follower.blocks["log_example"].splitlines() if "gunicorn.access" in line)
    if not re.fullmatch(LOG_LINE, example):
        raise ProcedureError(f"the README's example access line no longer reads as this script checks: {example}")
    log = follower.logs["portal.service"].read_text()
    lines = [line for line in log.splitlines() if f"rid={readyz_id}" in line]
    match = next((re.fullmatch(LOG_LINE, line) for line in lines if re.fullmatch(LOG_LINE, line)), None)
    if not match or match["request"] != "GET /readyz" or match["status"] != "200":
        raise ProcedureError(f"no access line in the README's format for GET /readyz with rid={readyz_id}:\n"
                             + "\n".join(lines or log.splitlines()[-20:]))
    say(f"access log line in the README's format with nginx's request id: {lines[0]}")
    examples = [line for line in follower.blocks["log_example"].splitlines() if line.strip()]
    if not all(re.fullmatch(ANY_LOG_LINE, line) for line in examples):
        raise ProcedureError(f"the README's example log lines no longer read as this script checks: {examples}")
    odd = [line for line in log.splitlines() if not re.fullmatch(ANY_LOG_LINE, line)]
    if odd:
        raise ProcedureError("gunicorn's log has lines not in the README's one format:\n" + "\n".join(odd[:10]))
    say(f"all {len(log.splitlines())} lines of the web service's log are in that format")

    current = subprocess.run(["sh", "-c", f"set -a; . {follower.env_file}; set +a; "
                                          ".venv/bin/flask --app wsgi db current"],
                             cwd=follower.service_dir, capture_output=True, text=True, timeout=60)
    if current.returncode != 0 or "(head)" not in current.stdout:
        raise ProcedureError(f"the database is not at the newest migration: {current.stdout}{current.stderr}")
    say(f"database at the newest migration: {current.stdout.strip()}")

    # "systemctl reload portal replaces the workers gracefully": the master stays, new workers serve.
    log_path = follower.logs["portal.service"]
    booted_before = log_path.read_text().count("Booting worker")
    follower.reload_unit("web_unit")
    deadline = time.monotonic() + 30
    while log_path.read_text().count("Booting worker") < 2 * booted_before:
        if time.monotonic() > deadline or follower.processes[0].poll() is not None:
            raise ProcedureError(f"reload did not boot new workers:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    response, text = browser.request("GET", "/readyz")
    if response.status != 200:
        raise ProcedureError(f"after the reload /readyz answered {response.status}")
    say("after the reload: new workers booted, /readyz 200")
    # A mistyped key file (the same key id twice): the reload must stop at its key check, the workers go on.
    key_file = Path(follower.env["DATA_KEYS_FILE"]) if "DATA_KEYS_FILE" in follower.env else None
    if key_file is not None:
        good = key_file.read_text()
        key_file.write_text(good + good)
        try:
            follower.reload_unit("web_unit")
        except subprocess.CalledProcessError:
            say("a key file listing a key id twice: the reload stopped at its key check")
        else:
            raise ProcedureError("a reload with a key file listing a key id twice was not refused")
        finally:
            key_file.write_text(good)
        response, _text = browser.request("GET", "/readyz")
        if response.status != 200 or follower.processes[0].poll() is not None:
            raise ProcedureError(f"after the refused reload /readyz answered {response.status}")
        say("after the refused reload: the running workers still serve, /readyz 200")


def main() -> int:
    started = time.monotonic()
    # A CI runner's SIGTERM unwinds through the finally below: the services run in sessions of their own.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        blocks = procedure_blocks(README.read_text())
        cluster = Cluster()
    except ProcedureError as error:
        say(f"FAILED: {error}")
        return 1
    say(f"following README.md 'Production deployment' ({len(blocks)} blocks)")
    work = Path(tempfile.mkdtemp(prefix="readme-procedure-"))
    os.chmod(work, 0o755)  # the portal user (chown -R) must reach its tree inside
    sink = SmtpSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    substitution(f"the mail server -> an SMTP sink on 127.0.0.1:{sink.server_address[1]}")
    follower = Follower(blocks, work, cluster, sink)
    try:
        cluster.start()
        follower.run_shell_block("database")
        follower.run_shell_block("code")
        follower.run_shell_block("secrets")
        follower.write_env_file()
        follower.run_shell_block("setup", stdin=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
        if not follower.admin_email:
            raise ProcedureError("the README's setup block creates no admin (create-admin)")
        substitution(f"`{shell_lines(blocks['enable'])[0]}` -> starting the two units' ExecStart= here")
        follower.start_unit("web_unit")
        follower.start_unit("mail_unit")
        check_as_operator(follower)
        follower.run_cron()
        follower.run_mail_commands()
        follower.check_nginx()
        say("journald drop-in: skipped (no journald here)")
    except ProcedureError as error:
        say(f"FAILED: {error}")
        for name, log in follower.logs.items():
            say(f"--- last lines of {name}")
            print("\n".join(log.read_text().splitlines()[-30:]), flush=True)
        return 1
    finally:
        follower.stop()
        sink.shutdown()
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    say(f"the production procedure works as written ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
