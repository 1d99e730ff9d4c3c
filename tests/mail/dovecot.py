"""A throwaway Dovecot IMAP server on loopback: its own config, users, mail and TLS certificate in a temp dir.

It runs as the current user when that is not root (every service then runs as that user); as root,
Dovecot insists on its unprivileged `dovenull`/`dovecot` users, which Debian's package creates.
Anything that keeps it from starting is returned as a reason for `pytest.skip`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from imap_tools import MailBoxUnencrypted

USER = "shop-tests@example.test"
PASSWORD = "imap-secret"
START_TIMEOUT_S = 15.0


@dataclass
class Dovecot:
    """A running Dovecot: `port` speaks IMAP with STARTTLS, `tls_port` IMAP over TLS."""

    proc: subprocess.Popen[bytes]
    home: Path
    port: int
    tls_port: int
    cert: Path

    def client_context(self) -> ssl.SSLContext:
        """A TLS context that trusts this server's self-signed certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert))

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver one message the way a mail server files it: IMAP APPEND over a separate connection."""
        with MailBoxUnencrypted("127.0.0.1", self.port, timeout=10).login(USER, PASSWORD, None) as box:
            box.append(raw, folder)

    def kick(self) -> None:
        """Make the server drop every connection of the test user (`doveadm kick`)."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run(
            [doveadm, "-c", str(self.home / "dovecot.conf"), "kick", USER],
            check=True,
            capture_output=True,
            timeout=10,
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.home, ignore_errors=True)


def start_dovecot() -> Dovecot | str:
    """A started Dovecot, or the reason it cannot run here."""
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        return (
            "Dovecot is not installed (Debian: apt-get install dovecot-imapd; `make test-services` does it)"
        )
    openssl = shutil.which("openssl")
    if openssl is None:
        return "openssl is not installed, so no test certificate can be made for Dovecot"
    users = _service_users()
    if isinstance(users, str):
        return users
    home = Path(tempfile.mkdtemp(prefix="auditor-dovecot-"))
    home.chmod(0o755)  # Dovecot's mail processes run as another user when we are root
    try:
        return _start(binary, openssl, home, users)
    except Exception as exc:
        shutil.rmtree(home, ignore_errors=True)
        return f"Dovecot could not start: {exc}"


def _service_users() -> tuple[str, str, pwd.struct_passwd] | str:
    """(login user, internal user, mail user) for the config."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_name, me
    try:
        pwd.getpwnam("dovenull")
        return "dovenull", "dovecot", pwd.getpwnam("dovecot")
    except KeyError:
        return "running as root, but the users dovenull and dovecot that Dovecot needs do not exist"


def _start(binary: str, openssl: str, home: Path, users: tuple[str, str, pwd.struct_passwd]) -> Dovecot:
    login_user, internal_user, mail_user = users
    cert, key = home / "cert.pem", home / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    (home / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    mail = home / "mail"
    for d in (mail, home / "run", home / "state"):
        d.mkdir()
    os.chown(mail, mail_user.pw_uid, mail_user.pw_gid)
    port, tls_port = _free_port(), _free_port()
    conf = home / "dovecot.conf"
    conf.write_text(f"""
base_dir = {home}/run
state_dir = {home}/state
log_path = {home}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_user}
first_valid_uid = {mail_user.pw_uid}
first_valid_gid = {mail_user.pw_gid}
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {home}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
""")
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    server = Dovecot(proc, home, port, tls_port, cert)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            log = (home / "dovecot.log").read_text() if (home / "dovecot.log").exists() else ""
            raise RuntimeError(f"exit {proc.returncode}: {(err + log).strip()[-500:]}")
        if _greets(port):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"no IMAP greeting on 127.0.0.1:{port} within {START_TIMEOUT_S} s")


def _greets(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
