"""record and run on a host command, for real: a Python script and a shell with children, live kernel log.

The issue's round trip: ``record`` learns what the command does, ``emit`` writes a profile, ``run``
under it finds nothing denied, and the same profile without one call the script needs denies it and
names it. Needs root and a readable /dev/kmsg (skips with the reason elsewhere; fails in CI).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from seccomp_gen.cli import main
from tests.realpath import need_kmsg

pytestmark = pytest.mark.realpath

SCRIPT = """\
import os, sys
path = os.path.join(sys.argv[1], "made-by-the-script")
os.mkdir(path)
with open(os.path.join(path, "note"), "w") as fh:
    fh.write("hello")
print(open(os.path.join(path, "note")).read())
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "work.py"
    path.write_text(SCRIPT)
    return path


def test_record_then_run_round_trip(tmp_path: Path, script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need_kmsg()
    state = tmp_path / "state.db"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = [sys.executable, str(script), str(out_dir)]
    assert main(["record", "--state", str(state), "--fix-ratelimit", "--", *command]) == 0
    err = capsys.readouterr().err
    assert "+ mkdir (x86_64)" in err or "+ mkdirat (x86_64)" in err

    assert main(["emit", "--state", str(state), "--log-denials", "--output", str(tmp_path / "p.json")]) == 0
    profile = json.loads((tmp_path / "p.json").read_text())
    capsys.readouterr()

    second = tmp_path / "again"
    second.mkdir()
    rerun = [sys.executable, str(script), str(second)]
    assert main(["run", "--profile", str(tmp_path / "p.json"), "--fix-ratelimit", "--", *rerun]) == 0
    assert "nothing denied" in capsys.readouterr().err

    for rule in profile["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n not in ("mkdir", "mkdirat")]
    (tmp_path / "no-mkdir.json").write_text(json.dumps(profile))
    third = tmp_path / "third"
    third.mkdir()
    rerun = [sys.executable, str(script), str(third)]
    status = main(["run", "--profile", str(tmp_path / "no-mkdir.json"), "--fix-ratelimit", "--", *rerun])
    err = capsys.readouterr().err
    assert status == 1  # PermissionError from os.mkdir
    assert "denied by" in err
    assert re.search(r"^  1x  mkdir(?:at)? \(x86_64\) ERRNO", err, re.MULTILINE), err  # grouped, counted
    assert "to allow what it needs, learn it: seccomp-gen record -- " in err


def test_record_follows_the_commands_children(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    need_kmsg()
    monkeypatch.chdir(tmp_path)
    # sh forks mkdir and ls: their records carry the session of record's command, so they are learned.
    command = ["sh", "-c", 'mkdir "$1" && ls "$1" > /dev/null && echo "$$"', "sh", "made-by-a-child"]
    assert main(["record", "--state", str(tmp_path / "s.db"), "--fix-ratelimit", "--", *command]) == 0
    captured = capsys.readouterr()
    comms = {line.rsplit(" by ", 1)[1] for line in captured.err.splitlines() if line.startswith("+ ")}
    assert {"sh", "mkdir", "ls"} <= comms, captured.err
    assert any(
        line.startswith(("+ mkdir ", "+ mkdirat ")) and line.endswith(" by mkdir")
        for line in captured.err.splitlines()
    )
