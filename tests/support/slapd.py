"""A throwaway OpenLDAP server for tests: Debian's ``slapd`` on 127.0.0.1, in a temp folder.

The configuration is a ``slapd.conf`` (``-f``) with an MDB database loaded by
``slapadd`` before the start; the schemas are Debian's, including ``msuser``, so
entries can carry Active Directory's attribute names (``company``,
``otherTelephone``, ``objectCategory``…).  The server runs in the foreground
(``-d 0``) as a child process and is stopped by its PID only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SBIN = "/usr/sbin:/usr/bin:/sbin:/bin"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis", "msuser")
MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
START_SECONDS = 10.0


def tool(name: str) -> str | None:
    """Where an OpenLDAP tool is; /usr/sbin is not on every user's PATH."""
    return shutil.which(name) or shutil.which(name, path=SBIN)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Certificates:
    ca: Path
    certificate: Path
    key: Path


def make_certificates(folder: Path) -> Certificates:
    """A test CA and a server certificate for 127.0.0.1 (EC keys: fast to make)."""
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    certificate, key, request = folder / "server.pem", folder / "server.key", folder / "server.csr"
    extensions = folder / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    new_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("openssl", "req", *new_key, "-x509", "-days", "2", "-keyout", ca_key, "-out", ca,
        "-subj", "/CN=missedcall test CA")  # fmt: skip
    run("openssl", "req", *new_key, "-keyout", key, "-out", request, "-subj", "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-extfile", extensions, "-days", "2", "-out", certificate)  # fmt: skip
    return Certificates(ca, certificate, key)


def run(*command: str | Path) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


@dataclass
class Slapd:
    """One server: ``ldap://`` on ``port`` and, with certificates, ``ldaps://`` on ``tls_port``."""

    folder: Path
    ldif: str
    acl: str = "access to * by * read"
    extra_config: str = ""  # database directives: limits, sizelimit…
    certificates: Certificates | None = None
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def create(self) -> None:
        """Write the configuration and load the entries (slapd not running)."""
        (self.folder / "db").mkdir(parents=True)
        (self.folder / "slapd.conf").write_text(self._config())
        (self.folder / "data.ldif").write_text(self.ldif)
        slapadd = tool("slapadd") or "slapadd"
        run(slapadd, "-f", self.folder / "slapd.conf", "-l", self.folder / "data.ldif")

    def start(self) -> None:
        urls = self.url + (f" {self.tls_url}" if self.certificates else "")
        command = [tool("slapd") or "slapd", "-f", str(self.folder / "slapd.conf")]
        log = (self.folder / "slapd.log").open("ab")
        self.process = subprocess.Popen(
            [*command, "-h", urls, "-d", "0"], stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        self._wait_until_listening()

    def stop(self) -> None:
        """End the server by its PID (waking it first if it was paused)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def pause(self) -> None:
        """Freeze the server: connections are still accepted by the kernel, never answered."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def _wait_until_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "slapd.log").read_text(errors="replace")
                raise RuntimeError(f"slapd exited with {self.process.returncode}:\n{log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            except OSError:
                time.sleep(0.05)
                continue
            return
        self.stop()
        raise RuntimeError(f"slapd did not listen on port {self.port} in {START_SECONDS} s")

    def _config(self) -> str:
        schemas = "".join(f"include /etc/ldap/schema/{name}.schema\n" for name in SCHEMAS)
        tls = ""
        if self.certificates:
            tls = (
                f"TLSCACertificateFile {self.certificates.ca}\n"
                f"TLSCertificateFile {self.certificates.certificate}\n"
                f"TLSCertificateKeyFile {self.certificates.key}\n"
            )
        return (
            f"{schemas}modulepath {MODULES}\nmoduleload back_mdb\n"
            f"pidfile {self.folder / 'slapd.pid'}\n{tls}"
            f'database mdb\nsuffix "{SUFFIX}"\nrootdn "{ADMIN_DN}"\nrootpw {ADMIN_PASSWORD}\n'
            f"directory {self.folder / 'db'}\n{self.extra_config}\n"
            "access to attrs=userPassword by anonymous auth by * none\n"
            f"{self.acl}\n"
        )
