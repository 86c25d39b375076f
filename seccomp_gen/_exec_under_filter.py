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
from typing import TYPE_CHECKING, Any

from seccomp_gen.errors import SeccompGenError

if TYPE_CHECKING:
    from seccomp_gen.actions import Action
    from seccomp_gen.profile import Profile

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
    import pyseccomp

    if args.log:
        seccomp_filter = pyseccomp.SyscallFilter(pyseccomp.LOG)
    else:
        seccomp_filter = compile_profile_file(args.profile)
        if not args.no_log_denials:
            seccomp_filter.set_attr(pyseccomp.Attr.CTL_LOG, 1)
    if os.geteuid() == 0:
        # root may load a filter without no_new_privs; keep setuid programs under it working
        seccomp_filter.set_attr(pyseccomp.Attr.CTL_NNP, 0)
    return seccomp_filter


def compile_profile_file(path: Path) -> Any:
    """A Docker/OCI JSON profile (read by the profile stage) as a loadable libseccomp filter."""
    from seccomp_gen.lint import load_profile

    return build_filter(load_profile(path).profile)


def build_filter(profile: Profile) -> Any:
    """The filter runc would load for ``profile`` on this machine.

    Like runc: names the installed libseccomp cannot resolve are skipped, rules equal to the default
    action are skipped, Docker-only conditional rules are not applied. Architectures are the profile's
    (the native one when it lists none).
    """
    import pyseccomp

    from seccomp_gen.abi import get_abi

    seccomp_filter = pyseccomp.SyscallFilter(_code(profile.default_action))
    tokens = [get_abi(name).libseccomp_token for name in profile.architectures]
    native = pyseccomp.system_arch()
    for token in tokens:
        if token is not None and token != native:
            seccomp_filter.add_arch(token)
    if tokens and native not in tokens:
        seccomp_filter.remove_arch(native)
    added = set()  # libseccomp's time grows with the square of repeats of one rule: add each once
    for rule in profile.rules:
        if rule.action == profile.default_action or rule.conditional:
            continue
        args = [pyseccomp.Arg(a.index, _OPERATORS[a.op], a.value, a.value_two) for a in rule.args]
        for name in rule.names:
            if (name, rule.action, rule.args) in added:
                continue
            added.add((name, rule.action, rule.args))
            number = int(pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name))
            if number != -1:
                seccomp_filter.add_rule(_code(rule.action), number, *args)
    return seccomp_filter


_OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4}
_OPERATORS |= {"SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}


def _code(action: Action) -> int:
    return action.kind.value | action.data


if __name__ == "__main__":
    sys.exit(main())
