"""Measure what a container runtime's own init calls under the container's seccomp filter.

runc loads the container's filter in its init process (``runc:[2:INIT]``) and only then execs the
workload: every call the init makes in between has to be allowed, or the container does not start.
Go's runtime makes some of them only sometimes (a ``futex`` wake-up in a few percent of starts), so
one learning run seldom shows them all. This script starts a busybox bundle under a LOG-everything
filter many times, reads the kernel log while it does, keeps the records of its own audit sessions
whose command is the runtime's init, and takes the union of their syscalls, stamped with the
runtime's ``--version``:

    python scripts/measure_runtime_base.py --starts 200 --write   # measure and merge into the data
    python scripts/measure_runtime_base.py --starts 50 --check    # CI: fail when a call is missing

``--write`` merges into ``seccomp_gen/data/measured_bases.json`` (the union with any earlier
measurement of the same version and architecture; starts add up). ``--check`` measures and exits 1
when the packaged set of the installed version lacks a measured call, or has no such version.
Needs root, the runtime, ``busybox`` and a kernel that logs SCMP_ACT_LOG to /dev/kmsg.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seccomp_gen import kernel  # noqa: E402
from seccomp_gen.abi import get_abi, resolve  # noqa: E402
from seccomp_gen.runtimes import installed  # noqa: E402
from seccomp_gen.sandbox import KmsgTap, check_record_preconditions  # noqa: E402
from seccomp_gen.syscalls import lookup_name  # noqa: E402
from tests.e2e.bundle import Bundle, build_bundle  # noqa: E402

DATA = ROOT / "seccomp_gen" / "data" / "measured_bases.json"
INIT_COMMS = {"runc": "runc:[2:INIT]"}
LOG_EVERYTHING = {"defaultAction": "SCMP_ACT_LOG"}
# Short workloads, so that the starts dominate; more than one, so that the init's last steps
# (the exec of different programs) vary.
WORKLOADS = (["/bin/echo", "started"], ["/bin/sh", "-c", "echo started"], ["/bin/ls", "/"])
# With noNewPrivileges (``runc spec``'s default) runc loads the filter just before the exec; without
# it (Podman's and Docker's default) before it sets the user and capabilities, so the init makes
# more calls under it (setgroups, setuid, capset, ...). Both are measured, in turn.
NO_NEW_PRIVILEGES = (True, False)


def main(argv: list[str] | None = None) -> int:
    """Measure; print the result; write or check it."""
    args = _parser().parse_args(argv)
    runtime = _installed(args.runtime)
    check_record_preconditions(fix_ratelimit=True)
    with kernel.rate_limit_lifted(), tempfile.TemporaryDirectory(prefix="seccomp-gen-base-") as tmp:
        bundle = build_bundle(Path(tmp) / "bundle", busybox=args.busybox, runc=runtime["path"])
        bundle.set_seccomp(LOG_EVERYTHING)
        measured = _measure(bundle, runtime, args.starts)
    _report(measured)
    if args.check:
        return _check(measured)
    if args.write:
        _write(measured)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runtime", default="runc", choices=sorted(INIT_COMMS))
    parser.add_argument("--starts", type=int, default=200, help="container starts to measure (default 200)")
    parser.add_argument("--busybox", default="/bin/busybox")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"merge the result into {DATA.relative_to(ROOT)}")
    mode.add_argument(
        "--check", action="store_true", help="exit 1 when the packaged set lacks a measured call"
    )
    return parser


def _installed(name: str) -> dict[str, str]:
    found = [r for r in installed((name,)) if r.version is not None]
    if not found:
        raise SystemExit(f"{name} is not installed, or does not say its version")
    banner = subprocess.run([found[0].path, "--version"], capture_output=True, text=True, check=True).stdout
    return {"name": name, "path": found[0].path, "version": str(found[0].version), "banner": banner.strip()}


def _measure(bundle: Bundle, runtime: dict[str, str], starts: int) -> dict[str, Any]:
    """Start the bundle ``starts`` times under one kernel-log tap; the init's calls per start."""
    tap = KmsgTap()
    tap.start()
    sessions: dict[int, int] = {}  # audit session → start index
    failed = 0
    try:
        for index in range(starts):
            nnp = NO_NEW_PRIVILEGES[index % len(NO_NEW_PRIVILEGES)]
            workload = WORKLOADS[index // len(NO_NEW_PRIVILEGES) % len(WORKLOADS)]
            session, returncode = _start(bundle, workload, nnp)
            failed += returncode != 0
            if session is not None:
                sessions[session] = index
        time.sleep(0.5)  # the last records reach the log
    finally:
        records, losses = tap.stop()
    if losses:
        raise SystemExit(
            f"the kernel log lost records during the measurement ({len(losses)} losses): run again"
        )
    if len(sessions) != starts:
        raise SystemExit("could not give every start its own audit session (is this root?)")
    comm = INIT_COMMS[runtime["name"]]
    per_start: dict[int, set[str]] = {}
    for record in records:
        event = record.event
        if event.ses not in sessions or event.comm != comm:
            continue
        abi = resolve(event.arch, event.syscall)
        name = None if abi is None else lookup_name(abi, event.syscall)
        if name is None:
            raise SystemExit(f"a record of the init has a number no table knows: {record.line!r}")
        per_start.setdefault(sessions[event.ses], set()).add(name)
    if len(per_start) != starts:
        raise SystemExit(f"only {len(per_start)} of {starts} starts left records of {comm}: run again")
    seen_in = Counter(name for names in per_start.values() for name in names)
    return {
        "runtime": runtime["name"],
        "version": runtime["version"],
        "banner": runtime["banner"],
        "architecture": get_abi(os.uname().machine).libseccomp,
        "init_comm": comm,
        "starts": starts,
        "no_new_privileges": "both, in turn",
        "failed_starts": failed,
        "names": sorted(seen_in),
        "seen_in_starts": dict(sorted(seen_in.items())),
    }


def _start(bundle: Bundle, workload: list[str], nnp: bool) -> tuple[int | None, int]:
    """One start in a fresh audit session: (the session, the exit status)."""
    bundle.set_process(workload, no_new_privileges=nnp)
    done, session = bundle.run_in_session()
    return session, done.returncode


def _report(measured: dict[str, Any]) -> None:
    starts = measured["starts"]
    print(
        f"{measured['runtime']} {measured['version']} on {measured['architecture']}: {starts} starts, "
        f"{measured['failed_starts']} failed, {len(measured['names'])} syscalls in {measured['init_comm']}"
    )
    for name, count in measured["seen_in_starts"].items():
        print(f"  {name:<20} {count:>5}/{starts}")


def _load() -> dict[str, Any]:
    if not DATA.exists():
        return {"generated_by": "scripts/measure_runtime_base.py", "measurements": []}
    loaded: dict[str, Any] = json.loads(DATA.read_text())
    return loaded


def _same(entry: dict[str, Any], measured: dict[str, Any]) -> bool:
    keys = ("runtime", "version", "architecture")
    return all(entry[key] == measured[key] for key in keys)


def _check(measured: dict[str, Any]) -> int:
    packaged = [e for e in _load()["measurements"] if _same(e, measured)]
    if not packaged:
        print(
            f"no packaged measurement of {measured['runtime']} {measured['version']} "
            f"on {measured['architecture']}: run with --write",
            file=sys.stderr,
        )
        return 1
    missing = sorted(set(measured["names"]) - set(packaged[0]["names"]))
    if missing:
        print(f"the packaged set lacks {', '.join(missing)}: run with --write", file=sys.stderr)
        return 1
    print(f"the packaged set ({packaged[0]['starts']} starts) covers all {len(measured['names'])} calls")
    return 0


def _write(measured: dict[str, Any]) -> None:
    document = _load()
    entries = document["measurements"]
    for entry in entries:
        if _same(entry, measured):
            seen: Counter[str] = Counter(entry["seen_in_starts"])
            seen.update(measured["seen_in_starts"])
            entry["starts"] += measured["starts"]
            entry["failed_starts"] += measured["failed_starts"]
            entry["names"] = sorted(seen)
            entry["seen_in_starts"] = dict(sorted(seen.items()))
            entry["banner"] = measured["banner"]
            break
    else:
        entries.append(measured)
    entries.sort(key=lambda e: (e["runtime"], e["architecture"], e["version"]))
    DATA.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    print(f"wrote {DATA.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
