"""A tiny OCI bundle built from Debian's busybox-static: the tutorial's http-echo, for real.

The container serves a file with busybox ``httpd`` on 127.0.0.1 inside its own network namespace
(runc brings up the loopback device), fetches it with ``wget``, and does some file and process work.
Its standard output is fixed, so a run under a learned profile can be compared with the recording run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The tutorial's http-echo answers "just made some syscalls!"; so does our file.
GREETING = "just made some syscalls!"

# The page is a CGI script that sends its body a moment after its header, so that wget always finds
# nothing to read at first and waits in poll(): served as a file, the page was sometimes there before
# wget read, and a run then made no poll call, so that one recording did not always show every call.
PAGE = f"""#!/bin/sh
echo 'Content-Type: text/html'
echo
sleep 0.2
echo '{GREETING}'
"""

WORKLOAD = f"""#!/bin/sh
set -e
mkdir -p /tmp/www/cgi-bin
cat > /tmp/www/cgi-bin/index.html <<'PAGE'
{PAGE}PAGE
chmod +x /tmp/www/cgi-bin/index.html
httpd -p 127.0.0.1:8080 -h /tmp/www
wget -q -O /tmp/fetched http://127.0.0.1:8080/cgi-bin/index.html
cat /tmp/fetched
cp /tmp/fetched /tmp/copy
sha256sum /tmp/copy
ls /tmp/www/cgi-bin
rm /tmp/copy
kill "$(pidof httpd)"
echo done
"""

APPLETS = (
    "sh",
    "httpd",
    "wget",
    "cat",
    "chmod",
    "cp",
    "echo",
    "kill",
    "ls",
    "mkdir",
    "pidof",
    "rm",
    "sha256sum",
    "sleep",
)

#: The tutorial's audit.json and violation.json, verbatim in meaning.
AUDIT_PROFILE: dict[str, Any] = {"defaultAction": "SCMP_ACT_LOG"}
VIOLATION_PROFILE: dict[str, Any] = {"defaultAction": "SCMP_ACT_ERRNO"}


@dataclass(frozen=True, slots=True)
class Bundle:
    """An OCI bundle directory (``config.json`` + ``rootfs/``) that ``runc run`` accepts."""

    path: Path
    runc: str = "runc"

    @property
    def config_path(self) -> Path:
        """The bundle's ``config.json``."""
        return self.path / "config.json"

    def set_seccomp(self, seccomp: dict[str, Any] | None) -> None:
        """Put ``seccomp`` (an OCI ``linux.seccomp`` object; None removes it) into config.json."""
        config = json.loads(self.config_path.read_text())
        if seccomp is None:
            config["linux"].pop("seccomp", None)
        else:
            config["linux"]["seccomp"] = seccomp
        self.config_path.write_text(json.dumps(config, indent=2) + "\n")

    def set_process(self, args: list[str] | None = None, *, no_new_privileges: bool | None = None) -> None:
        """Change the container's command and/or ``process.noNewPrivileges`` in config.json."""
        config = json.loads(self.config_path.read_text())
        if args is not None:
            config["process"]["args"] = args
        if no_new_privileges is not None:
            config["process"]["noNewPrivileges"] = no_new_privileges
        self.config_path.write_text(json.dumps(config, indent=2) + "\n")

    def run(self, *, timeout: float = 60.0, container: str | None = None) -> subprocess.CompletedProcess[str]:
        """``runc run`` the workload under ``container`` (default: a fresh, unique id); always deletes it."""
        return self.run_in_session(timeout=timeout, container=container)[0]

    def run_in_session(
        self, *, timeout: float = 60.0, container: str | None = None
    ) -> tuple[subprocess.CompletedProcess[str], int | None]:
        """Like ``run``, with runc (so the container too) in a new audit session: that session's id.

        The kernel stamps every record of the container with it (``ses=``), which nothing else on the
        host has: what a test reads of the shared kernel log is its own. None: no session was given.
        """
        container = container or unique_id()
        try:
            return run_in_new_session(
                [self.runc, "run", "--bundle", str(self.path), container], timeout=timeout
            )
        finally:
            subprocess.run(
                [self.runc, "delete", "--force", container], capture_output=True, check=False, timeout=30
            )


def run_in_new_session(
    command: list[str], *, timeout: float = 60.0
) -> tuple[subprocess.CompletedProcess[str], int | None]:
    """Run ``command`` (runc, podman...) in a new audit session: its result and the session's id."""
    from seccomp_gen._exec_under_filter import new_audit_session

    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=new_audit_session,  # noqa: PLW1509 - writes one /proc file, then execs
    ) as proc:
        session = _session_of(proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    return subprocess.CompletedProcess(command, proc.returncode, out, err), session


def unique_id(prefix: str = "seccomp-gen-e2e") -> str:
    """A container id no other run (of this or another test process) uses."""
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _session_of(pid: int) -> int | None:
    try:
        session = int(Path(f"/proc/{pid}/sessionid").read_text())
    except (OSError, ValueError):
        return None
    return None if session == 2**32 - 1 else session


def expected_output() -> str:
    """What the workload prints when it succeeds (sha256 of the greeting line included)."""
    import hashlib

    digest = hashlib.sha256(f"{GREETING}\n".encode()).hexdigest()
    return f"{GREETING}\n{digest}  /tmp/copy\nindex.html\ndone\n"


def build_bundle(dest: Path, *, busybox: str = "/bin/busybox", runc: str = "runc") -> Bundle:
    """Create ``dest/config.json`` (from ``runc spec``) and ``dest/rootfs`` holding only busybox."""
    rootfs = dest / "rootfs"
    bindir = rootfs / "bin"
    bindir.mkdir(parents=True)
    for name in ("proc", "dev", "sys", "tmp"):
        (rootfs / name).mkdir()
    shutil.copy2(busybox, bindir / "busybox")
    for applet in APPLETS:
        (bindir / applet).symlink_to("busybox")
    script = bindir / "workload.sh"
    script.write_text(WORKLOAD)
    script.chmod(0o755)
    subprocess.run([runc, "spec", "--bundle", str(dest)], check=True, capture_output=True, timeout=30)
    config = json.loads((dest / "config.json").read_text())
    _adapt_config(config)
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return Bundle(dest, runc)


def _adapt_config(config: dict[str, Any]) -> None:
    """No terminal, our workload, a tmpfs on /tmp (the root stays read-only), a fresh netns."""
    config["process"]["terminal"] = False
    config["process"]["args"] = ["/bin/sh", "/bin/workload.sh"]
    config["hostname"] = "seccomp-gen-e2e"
    tmpfs = {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=1777"]}
    config["mounts"].append(tmpfs)
    namespaces = config["linux"]["namespaces"]
    if not any(ns["type"] == "network" for ns in namespaces):
        namespaces.append({"type": "network"})


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.e2e.bundle DIR [--seccomp PROFILE.json]``: build the bundle, set its profile.

    Builds DIR when it does not exist yet; ``--seccomp`` puts a Docker/OCI JSON profile (or ``none``)
    into its config.json as ``linux.seccomp``.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.e2e.bundle", description=main.__doc__)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--seccomp", help="profile JSON file for linux.seccomp, or 'none'")
    parser.add_argument("--busybox", default=shutil.which("busybox") or "/bin/busybox")
    args = parser.parse_args(argv)
    bundle = (
        Bundle(args.dir)
        if (args.dir / "config.json").exists()
        else build_bundle(args.dir, busybox=args.busybox)
    )
    if args.seccomp == "none":
        bundle.set_seccomp(None)
    elif args.seccomp:
        bundle.set_seccomp(json.loads(Path(args.seccomp).read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
