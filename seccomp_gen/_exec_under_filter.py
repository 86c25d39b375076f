"""Install a seccomp filter in this process, then exec the command: the sandbox's child side.

``python -m seccomp_gen._exec_under_filter --status-fd N (--log | --profile P.json) -- CMD ARGS...``

The filter has to be loaded after fork and before exec, in the process that becomes CMD; a separate
interpreter does that without the hazards of running Python in a forked child of a threaded parent.
Before loading, it starts a new audit session (writing /proc/self/loginuid) so that the kernel stamps
every record of CMD and its children with a session id (``ses=``) nothing else on the host has; it
tells the parent that id (``session=N``) or why it failed (``error=...``) on the status fd, which
closes on a successful exec. The records of the exec itself are logged too, under this process's
command name: that is the kernel's view, and fine.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from seccomp_gen.errors import SeccompGenError

EXIT_CANNOT_RUN = 126
EXIT_NOT_FOUND = 127


def main(argv: list[str] | None = None) -> int:
    """Parse, start an audit session, load the filter, exec; returns only on failure."""
    args = _parser().parse_args(argv)
    status = os.fdopen(args.status_fd, "w", buffering=1)
    os.set_inheritable(args.status_fd, False)
    try:
        session = new_audit_session()
        seccomp_filter = _build_filter(args)
    except (OSError, ValueError, SeccompGenError) as exc:
        status.write(f"error=cannot build the filter: {exc}\n")
        return EXIT_CANNOT_RUN
    status.write(f"session={session if session is not None else ''}\n")
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        seccomp_filter.load()
    except OSError as exc:
        status.write(f"error=cannot load the filter: {exc}\n")
        return EXIT_CANNOT_RUN
    try:
        os.execvp(command[0], command)
    except FileNotFoundError:
        status.write(f"error=command not found: {command[0]!r}\n")
        return EXIT_NOT_FOUND
    except OSError as exc:
        status.write(f"error=cannot run {command[0]!r}: {exc.strerror}\n")
        return EXIT_CANNOT_RUN


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seccomp_gen._exec_under_filter")
    parser.add_argument("--status-fd", type=int, required=True)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--log", action="store_true", help="default action SCMP_ACT_LOG, no rules")
    mode.add_argument("--profile", type=Path, help="a Docker/OCI JSON profile")
    parser.add_argument("--no-log-denials", action="store_true", help="do not set SECCOMP_FILTER_FLAG_LOG")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    return parser


def new_audit_session() -> int | None:
    """Give this process (and so its future children) a fresh audit session id; None if not allowed."""
    try:
        loginuid = Path("/proc/self/loginuid").read_text().strip()
        if loginuid == str(2**32 - 1):
            loginuid = str(os.getuid())
        Path("/proc/self/loginuid").write_text(loginuid)
        return int(Path("/proc/self/sessionid").read_text())
    except (OSError, ValueError):
        return None


def _build_filter(args: argparse.Namespace) -> Any:
    from seccomp_gen import libseccomp

    if args.log:
        seccomp_filter = libseccomp.log_filter()
    else:
        seccomp_filter = compile_profile_file(args.profile)
        if not args.no_log_denials:
            libseccomp.set_flags(seccomp_filter, log_denials=True)
    if os.geteuid() == 0:
        # root may load a filter without no_new_privs; keep setuid programs under it working
        libseccomp.set_flags(seccomp_filter, no_new_privs=False)
    return seccomp_filter


def compile_profile_file(path: Path) -> Any:
    """A Docker/OCI JSON profile (read by the profile stage) as a loadable libseccomp filter: the one
    ``check`` compiles (``seccomp_gen.libseccomp.build_filter``)."""
    from seccomp_gen import libseccomp
    from seccomp_gen.profile_read import load_profile

    return libseccomp.build_filter(load_profile(path).profile)


if __name__ == "__main__":
    sys.exit(main())
