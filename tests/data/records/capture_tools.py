"""Real tool output for framings ``capture.py`` does not write (run as root, by hand; see README.md).

    python3 tests/data/records/capture_tools.py journal JOURNAL_DIR   # journalctl's other -o short* modes
    python3 tests/data/records/capture_tools.py ausearch AUSEARCH     # plain `ausearch` and `ausearch -i`
    python3 tests/data/records/capture_tools.py locales                # `dmesg -T` in five locales
    flock /tmp/seccomp-gen-realpath.lock \
    python3 tests/data/records/capture_tools.py ratelimit AUDITCTL    # audit_lost=N, rate limit exceeded

- ``journal``: reads the journal ``capture.py --journal`` wrote (``journalctl -D JOURNAL_DIR``) in
  the modes not captured then, keeping the entries of the same workload processes.
- ``ausearch``: writes ``ausearch-input.log`` (auditd's raw form of the captured records, the
  realworld auditd lines, and the edited copies listed in README.md), then ausearch's output of it,
  plain and with ``-i``. ``AUSEARCH`` is the binary (it needs no running auditd).
- ``locales``: ``dmesg`` and ``dmesg -T`` under locales built with ``localedef`` into a temporary
  directory, the same kernel records in each.
- ``ratelimit``: sets the kernel's audit rate limit to 5 records/s (``AUDITCTL -r 5``; no auditd
  needed), runs two bursts of 200 logged calls (``capture.py``'s ``_burst``), restores the old limit
  whatever happens, and keeps the /dev/kmsg lines that say records were lost. It changes a setting of
  the whole kernel for about three seconds: run it under the real-path lock.

It is not a test: the committed files are its output.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
C_UTC = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
JOURNAL_MODES = ("short-full", "short-precise", "short-iso-precise", "short-unix", "short-delta")
LOCALES = ("de_DE", "fr_FR", "ja_JP", "ru_RU", "zh_CN")
# Edited copies of the first captured record (serial 4081), one per action the workloads did not
# make, so that every action's `ausearch -i` spelling is real output; new serials keep them apart.
CODES = {5001: "0x50001", 5002: "0x7fc00000", 5003: "0x7ff00007", 5004: "0x7fff0000", 5005: "0x0"}
ENRICHMENT = '\x1dAUID="unset" UID="root" GID="root" ARCH=x86_64 SYSCALL=getppid'  # auditd ENRICHED


def _write(name: str, lines: list[str]) -> None:
    (HERE / name).write_text("".join(f"{line}\n" for line in lines))


def journal(directory: str) -> None:
    short = (HERE / "captured-journal-short.log").read_text()
    pids = sorted(set(re.findall(r" pid=\d+ ", short)))
    for mode in JOURNAL_MODES:
        out = subprocess.run(
            ["journalctl", "-D", directory, "--no-pager", "-o", mode],
            capture_output=True,
            text=True,
            check=True,
            env=C_UTC,
        ).stdout
        _write(
            f"captured-journal-{mode}.log",
            [line for line in out.splitlines() if any(p in line for p in pids)],
        )


def ausearch(binary: str) -> None:
    kmsg = (HERE / "captured-kmsg.log").read_text().splitlines()
    raw = ["type=SECCOMP msg=" + line.split("audit: type=1326 ", 1)[1] for line in kmsg]
    first = raw[0]
    lines = list(raw)
    for serial, code in CODES.items():
        lines.append(re.sub(r"code=0x[0-9a-f]+$", f"code={code}", first.replace(":4081)", f":{serial})")))
    lines.append(first.replace(":4081)", ":5006)") + ENRICHMENT)
    for path in sorted((HERE / "realworld").glob("*.log")):
        lines += [line for line in path.read_text().splitlines() if line.startswith("type=SECCOMP msg=")]
    _write("ausearch-input.log", lines)
    for name, extra in (("ausearch.log", []), ("ausearch-i.log", ["-i"])):
        out = subprocess.run(
            [binary, "--input", str(HERE / "ausearch-input.log"), *extra],
            capture_output=True,
            text=True,
            check=True,
            env=C_UTC,
        ).stdout
        _write(name, out.splitlines())


def locales() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for locale in LOCALES:
            subprocess.run(["localedef", "-i", locale, "-f", "UTF-8", f"{tmp}/{locale}.UTF-8"], check=True)
        outputs = {"C": _dmesg([], tmp, "C")}
        outputs |= {locale: _dmesg(["-T"], tmp, f"{locale}.UTF-8") for locale in LOCALES}
    stamps = [re.search(r"audit\(([^)]*)\)", line) for line in outputs["C"] if "type=1326" in line]
    common = [s.group(1) for s in stamps if s and all(s.group(0) in "".join(o) for o in outputs.values())]
    kept = common[-3:]
    _write(
        "captured-dmesg-T-locales.log",
        [line for lines in outputs.values() for line in lines if any(f"({s})" in line for s in kept)],
    )


def _dmesg(args: list[str], locpath: str, locale: str) -> list[str]:
    env = {**os.environ, "LOCPATH": locpath, "LC_ALL": locale}
    return subprocess.run(
        ["dmesg", *args], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()


def ratelimit(auditctl: str) -> None:
    sys.path.insert(0, str(HERE))
    capture = importlib.import_module("capture")  # capture.py beside this file

    status = subprocess.run([auditctl, "-s"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"^rate_limit (\d+)$", status, re.MULTILINE)
    assert found is not None, status
    seq = capture._kmsg_last_seq()
    try:
        subprocess.run([auditctl, "-r", "5"], capture_output=True, check=True)
        capture._run(capture._burst)
        time.sleep(1.5)
        capture._run(capture._burst)
    finally:
        subprocess.run([auditctl, "-r", found.group(1)], capture_output=True, check=True)
    time.sleep(1.0)
    markers = ("audit_lost=", "limit exceeded", "callbacks suppressed")
    _write(
        "captured-ratelimit-kmsg.log",
        [ln for ln in capture._kmsg_since(seq) if any(m in ln for m in markers)],
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["journal"] and len(argv) == 2:
        journal(argv[1])
    elif argv[:1] == ["ausearch"] and len(argv) == 2:
        ausearch(argv[1])
    elif argv == ["locales"]:
        locales()
    elif argv[:1] == ["ratelimit"] and len(argv) == 2:
        ratelimit(argv[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
