"""Benchmark corpora: dense, sparse (5 %) and varied syslog, auditd log, journal JSON, other types.

    python3 bench/corpus.py [--lines N] [--out DIR]

Writes ``syslog-dense.log``, ``syslog-sparse.log``, ``audit.log`` (8 % SECCOMP lines),
``audit-dense.log`` (50 %), ``syslog-varied.log`` (12,000
processes x 400 syscalls x 3 ABIs), ``journal.json`` (``journalctl -o json``) and ``other-types.log``
(AppArmor records only), N lines each (default 1 M), into ``bench/out/`` (git-ignored). The lines
have the shapes captured on a real machine (tests/data/records/): RFC 3339 rsyslog headers with the
kernel's uptime stamp, auditd's ``type=SECCOMP msg=audit(...)`` among SYSCALL/PATH/PROCTITLE
records; values (pid, serial, syscall, ip, comm) vary as in a real workload. Same arguments, same
bytes: the generator is seeded.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
GENERATOR = 3  # bump when the lines change, so old corpora are written anew
LINES = 1_000_000
PROCESSES = [
    ("runc:[2:INIT]", "/"),
    ("nginx", "/usr/sbin/nginx"),
    ("python3", "/usr/bin/python3.11"),
    ("postgres", "/usr/lib/postgresql/15/bin/postgres"),
    ("sh", "/bin/busybox"),
    ("node", "/usr/local/bin/node"),
]
SYSCALLS = [0, 1, 3, 9, 10, 11, 17, 39, 56, 59, 72, 202, 228, 231, 257, 262, 268, 318, 334, 435, 439]
NOISE = [
    "vm sshd[{pid}]: Accepted publickey for root from 10.0.{a}.{b} port {port} ssh2: ED25519 SHA256:x",
    "vm systemd[1]: Started session-{a}.scope - Session {a} of User root.",
    "vm CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
    "vm kernel: [{up}] EXT4-fs (vda1): re-mounted {a}. Quota mode: none.",
    "vm kernel: [{up}] IPv6: ADDRCONF(NETDEV_CHANGE): veth{a}: link becomes ready",
    'vm containerd[{pid}]: time="2026-11-28T11:00:00Z" level=info msg="shim disconnected" id={port}',
    'vm dockerd[{pid}]: time="2026-11-28T11:00:00Z" level=warning msg="cleanup warnings" module=libnetwork',
]


def _record(rng: random.Random, serial: int, seconds: float) -> str:
    comm, exe = rng.choice(PROCESSES)
    return (
        f"audit(1795888{seconds:07.3f}:{serial}): auid=4294967295 uid=0 gid=0 ses=4294967295 "
        f'subj=unconfined pid={rng.randrange(1000, 4_000_000)} comm="{comm}" exe="{exe}" sig=0 '
        f"arch=c000003e syscall={rng.choice(SYSCALLS)} compat=0 ip=0x7f{rng.getrandbits(40):010x} "
        "code=0x7ffc0000"
    )


def _stamp(second: float) -> str:
    whole = int(second)
    clock = f"{whole // 3600 % 24:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"2026-11-28T{clock}.{int(second % 1 * 1e6):06d}+00:00"


def syslog_lines(count: int, density: float, seed: int = 1326) -> Iterator[str]:
    """rsyslog lines: ``density`` of them kernel seccomp records, the rest everyday noise."""
    rng = random.Random(seed)
    second = 40_000.0
    for serial in range(1, count + 1):
        second += rng.random() * 0.002
        uptime = f"[{second - 17_000:12.6f}]"
        if rng.random() < density:
            record = _record(rng, serial, second % 1000)
            yield f"{_stamp(second)} vm kernel: {uptime} audit: type=1326 {record}"
        else:
            noise = rng.choice(NOISE).format(
                pid=rng.randrange(100, 99999), a=rng.randrange(256), b=rng.randrange(256),
                port=rng.randrange(1024, 65535), up=uptime[1:-1].strip(),
            )  # fmt: skip
            yield f"{_stamp(second)} {noise}"


def audit_lines(count: int, density: float = 0.25, seed: int = 1300) -> Iterator[str]:
    """auditd's log: SECCOMP records among SYSCALL / CWD / PATH / PROCTITLE events."""
    rng = random.Random(seed)
    serial, second, written = 0, 100.0, 0
    while written < count:
        serial += 1
        second += rng.random() * 0.01
        if rng.random() < density:
            yield f"type=SECCOMP msg={_record(rng, serial, second % 1000)}"
            written += 1
            continue
        stamp = f"audit(1795888{second % 1000:07.3f}:{serial}):"
        event = [
            f"type=SYSCALL msg={stamp} arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c "
            f"a1=7ffd1 a2=0 a3=0 items=1 ppid=1 pid={rng.randrange(100, 99999)} auid=0 uid=0 gid=0 euid=0 "
            'suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="cat" exe="/usr/bin/cat" key="watch"',
            f'type=CWD msg={stamp} cwd="/root"',
            f'type=PATH msg={stamp} item=0 name="/etc/passwd" inode=1234 dev=fe:01 mode=0100644 ouid=0 '
            "ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
            f"type=PROCTITLE msg={stamp} proctitle=636174002F6574632F706173737764",
        ]
        for line in event[: count - written]:
            yield line
            written += 1


# A node's processes: many programs, each calling its own few dozen of ~400 syscalls, on three ABIs.
VARIED_PROCESSES = 12_000
ABIS = (("c000003e", 0, 0), ("40000003", 1, 0), ("c000003e", 0, 0x40000000))  # x86_64, i386, x32


def varied_lines(count: int, seed: int = 400) -> Iterator[str]:
    """Dense rsyslog records of 12,000 distinct (comm, exe) processes x 400 syscalls x 3 ABIs.

    The processes are drawn Zipf-like (a few busy, most rare) and each calls 12 syscalls of its own,
    so the log holds tens of thousands of distinct prototypes, as a busy node's does.
    """
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 1.2 for rank in range(VARIED_PROCESSES)]
    processes = [(f"worker{n:05d}", f"/opt/app{n % 700}/bin/worker{n:05d}") for n in range(VARIED_PROCESSES)]
    calls = [rng.sample(range(400), 12) for _ in range(VARIED_PROCESSES)]
    abis = [ABIS[n % 3] for n in range(VARIED_PROCESSES)]
    second = 40_000.0
    chosen = rng.choices(range(VARIED_PROCESSES), weights, k=count)
    for serial, index in enumerate(chosen, start=1):
        second += rng.random() * 0.002
        comm, exe = processes[index]
        arch, compat, bias = abis[index]
        record = (
            f"audit(1795888{second % 1000:07.3f}:{serial}): auid=4294967295 uid=0 gid=0 ses=4294967295 "
            f'subj=unconfined pid={rng.randrange(1000, 4_000_000)} comm="{comm}" exe="{exe}" sig=0 '
            f"arch={arch} syscall={bias + rng.choice(calls[index])} compat={compat} "
            f"ip=0x7f{rng.getrandbits(40):010x} code=0x7ffc0000"
        )
        yield f"{_stamp(second)} vm kernel: [{second - 17_000:12.6f}] audit: type=1326 {record}"


BOOT = "3bf7cf6273cb4799a322dbc9fb56e9ed"


def journal_lines(count: int, seed: int = 1326) -> Iterator[str]:
    """``journalctl -o json`` entries of the kernel transport, each one seccomp record."""
    rng = random.Random(seed)
    second = 40_000.0
    for serial in range(1, count + 1):
        second += rng.random() * 0.002
        usec = int((1795888000 + second % 1000) * 1e6)
        message = _record(rng, serial, second % 1000).replace('"', '\\"')
        yield (
            f'{{"__CURSOR":"s=7f4f5302a7904ad5b4271de53e9f338d;i={serial:x};b={BOOT};'
            f'm={usec:x};t={usec:x};x={rng.getrandbits(60):x}","__REALTIME_TIMESTAMP":"{usec}",'
            f'"__MONOTONIC_TIMESTAMP":"{usec - 1795800000000000}","_BOOT_ID":"{BOOT}",'
            f'"_TRANSPORT":"kernel","PRIORITY":"5","SYSLOG_FACILITY":"0","SYSLOG_IDENTIFIER":"kernel",'
            f'"_MACHINE_ID":"3d1219c7c4c5404aaa1f6d2a48adfda4","_HOSTNAME":"vm","_RUNTIME_SCOPE":"system",'
            f'"MESSAGE":"audit: type=1326 {message}"}}'
        )


def other_type_lines(count: int, seed: int = 1400) -> Iterator[str]:
    """dmesg lines of AppArmor's ``audit: type=1400`` records: audit lines, none of them seccomp's."""
    rng = random.Random(seed)
    second = 40_000.0
    for serial in range(1, count + 1):
        second += rng.random() * 0.002
        yield (
            f"[{second - 17_000:12.6f}] audit: type=1400 audit(1795888{second % 1000:07.3f}:{serial}): "
            f'apparmor="DENIED" operation="open" class="file" profile="cri-containerd.apparmor.d" '
            f'name="/proc/{rng.randrange(1, 99999)}/mounts" pid={rng.randrange(1000, 4_000_000)} comm="cat" '
            'requested_mask="r" denied_mask="r" fsuid=0 ouid=0'
        )


CORPORA: dict[str, Callable[[int], Iterator[str]]] = {
    "syslog-dense.log": lambda n: syslog_lines(n, 1.0),
    "syslog-sparse.log": lambda n: syslog_lines(n, 0.05),
    "audit.log": audit_lines,
    "audit-dense.log": lambda n: audit_lines(n, 0.8),  # half the lines SECCOMP records
    "syslog-varied.log": varied_lines,
    "journal.json": journal_lines,
    "other-types.log": other_type_lines,
}


def write(name: str, lines: int, out: Path = OUT) -> Path:
    """Write one corpus (unless it is there with the same line count) and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    stamp = out / f"{name}.lines"
    version = f"{lines} lines, generator {GENERATOR}"
    if path.exists() and stamp.exists() and stamp.read_text() == version:
        return path
    with path.open("w", encoding="utf-8") as handle:
        batch: list[str] = []
        for line in CORPORA[name](lines):
            batch.append(line)
            if len(batch) == 10_000:
                handle.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            handle.write("\n".join(batch) + "\n")
    stamp.write_text(version)
    return path


def main() -> int:
    """Write every corpus."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", choices=list(CORPORA), action="append", default=[], help="this corpus")
    args = parser.parse_args()
    for name in args.only or CORPORA:
        print(write(name, args.lines, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
