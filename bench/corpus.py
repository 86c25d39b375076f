"""Benchmark corpora for the parser: dense syslog, sparse syslog (5 % records), auditd log.

    python3 bench/corpus.py [--lines N] [--out DIR]

Writes ``syslog-dense.log``, ``syslog-sparse.log`` and ``audit.log`` (N lines each, default 1 M)
into ``bench/out/`` (git-ignored). The lines have the shapes captured on a real machine
(tests/data/records/): RFC 3339 rsyslog headers with the kernel's uptime stamp, auditd's
``type=SECCOMP msg=audit(...)`` among SYSCALL/PATH/PROCTITLE records; values (pid, serial, syscall,
ip, comm) vary as in a real workload. Same arguments, same bytes: the generator is seeded.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
GENERATOR = 2  # bump when the lines change, so old corpora are written anew
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


CORPORA: dict[str, Callable[[int], Iterator[str]]] = {
    "syslog-dense.log": lambda n: syslog_lines(n, 1.0),
    "syslog-sparse.log": lambda n: syslog_lines(n, 0.05),
    "audit.log": audit_lines,
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
    args = parser.parse_args()
    for name in CORPORA:
        print(write(name, args.lines, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
