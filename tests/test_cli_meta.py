"""Meta-tests over the whole CLI: every command has help with an example, and --version works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from seccomp_gen import __version__
from seccomp_gen.cli import app, main


def _command_names() -> list[str]:
    group = typer.main.get_command(app)
    assert hasattr(group, "commands")
    return sorted(group.commands)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"seccomp-gen {__version__}"


def test_module_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seccomp_gen", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert __version__ in done.stdout


# What a command imports when it runs, not when the CLI starts: `--help` and `emit` stay fast.
HEAVY = ("seccomp_gen.learn", "seccomp_gen.records", "seccomp_gen.store", "seccomp_gen.sources", "sqlite3")


@pytest.mark.parametrize("argv", [["--help"], ["emit", "--help"], ["learn", "--help"]])
def test_starting_the_cli_imports_neither_parser_nor_store(argv: list[str]) -> None:
    probe = (
        "import sys\n"
        "from seccomp_gen.cli import main\n"
        f"status = main({argv!r})\n"
        f"print(status, [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 []"


@pytest.mark.parametrize("name", _command_names())
def test_every_command_has_help_with_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert "seccomp-gen" in out.split("Options", 1)[0], f"{name} --help shows no example"


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        pytest.param(["no-such-command"], "No such command 'no-such-command'", id="command"),
        pytest.param(["learn", "--no-such-option"], "No such option: --no-such-option", id="option"),
        pytest.param(["emit", "--format", "xml"], "'xml' is not one of", id="choice"),
        pytest.param(["emit", "--errno", "EWHAT"], "Invalid value for --errno", id="value"),
        pytest.param(["emit", "--state"], "Option '--state' requires an argument", id="missing-value"),
        pytest.param(["syscalls", "59", "--arch"], "Option '--arch' requires an argument", id="arch-missing"),
    ],
)
def test_a_usage_error_is_one_line(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad options read like every other error: one ``error:`` line, exit 2, no usage block."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: "), captured.err
    assert captured.err.count("\n") == 1, captured.err
    assert says in captured.err
    assert "Value error" not in captured.err
    assert "Usage:" not in captured.err


def test_no_arguments_shows_the_help_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A bare ``seccomp-gen`` did nothing: the help, laid out as --help lays it out, on stderr; exit 2."""
    assert main([]) == 2
    captured = capsys.readouterr()
    assert main(["--help"]) == 0
    assert captured.err.strip() == capsys.readouterr().out.strip()
    assert captured.out == ""
    assert captured.err.startswith("Usage: seccomp-gen")
    assert "\nCommands:\n" in captured.err


# --- issue 17, item 6: a calm, conventional CLI ---------------------------------------------------


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    import contextlib

    with contextlib.suppress(SystemExit):
        main([*args, "--help"])
    return capsys.readouterr().out


def test_top_level_help_gives_every_summary_whole(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(capsys)
    commands = out.split("Commands:", 1)[1]
    assert "..." not in commands
    assert "Write the minimal seccomp profile that allows what was observed." in " ".join(commands.split())


@pytest.mark.parametrize(
    "command", ["emit", "learn", "status", "merge", "diff", "explain", "syscalls", "apply"]
)
def test_metavars_are_words(capsys: pytest.CaptureFixture[str], command: str) -> None:
    import re

    out = _help(capsys, command)
    assert not re.search(r"<(?:list\[|str>|path>|int>|float>)", out), out


def test_a_file_without_records_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.json"
    config.write_text('{\n  "ociVersion": "1.0.2"\n}\n')
    assert main(["learn", "--state", str(tmp_path / "s.db"), str(config)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"warning: no seccomp record in 3 lines of {config}")


def test_journal_without_journald_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from seccomp_gen import kernel
    from seccomp_gen.cli import _learn

    monkeypatch.setattr(kernel, "journald_running", lambda proc=None: False)
    monkeypatch.setattr(_learn, "JOURNAL_DIRS", (tmp_path / "none",))
    for args, said in (
        (["--journal", "--follow"], "--journal --follow: systemd-journald is not running here"),
        (["--journal"], "--journal: systemd-journald is not running and left no journal here"),
    ):
        assert main(["learn", "--state", str(tmp_path / "s.db"), *args]) == 2
        captured = capsys.readouterr()
        assert captured.err.startswith(f"error: {said}")
        assert captured.err.count("\n") == 1


def test_an_audit_spelling_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["syscalls", "pread", "--arch", "x86_64"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "17\n"
    assert captured.err == "note: pread is audit-userspace's spelling of pread64\n"


def test_progress_shows_percent_and_eta_for_plain_files(tmp_path: Path) -> None:
    import gzip
    import io

    from seccomp_gen.cli._learn import _Feedback, _plain_size

    plain, packed = tmp_path / "syslog", tmp_path / "syslog.2.gz"
    plain.write_bytes(b"x" * 1000)
    packed.write_bytes(gzip.compress(b"x" * 1000))
    assert _plain_size([plain]) == 1000
    assert _plain_size([plain, packed]) is None  # a .gz's read size is not its file size
    assert _plain_size([tmp_path / "missing"]) is None
    feedback = _Feedback(io.StringIO(), total_bytes=1000)
    feedback._started = 100.0
    assert feedback._done(250, 110.0) == " · 25 % · ETA 0:30"
    assert feedback._done(0, 110.0) == ""
    assert _Feedback(io.StringIO())._done(250, 110.0) == ""


def test_learn_strict_fails_on_an_empty_or_lossy_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests._learn_support import record, syslog

    state = tmp_path / "s.db"
    empty = tmp_path / "config.json"
    empty.write_text('{"ociVersion": "1.0.2"}\n')
    assert main(["learn", "--state", str(state), str(empty)]) == 0  # a warning without --strict
    assert main(["learn", "--state", str(state), "--strict", "--from-start", str(empty)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "error: --strict: no record was read"
    lossy = tmp_path / "syslog"
    lossy.write_text(syslog(record(0)) + syslog("kauditd_printk_skb: 3 callbacks suppressed"))
    assert main(["learn", "--state", str(state), "--strict", str(lossy)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "error: --strict: records were lost"
    clean = tmp_path / "clean"
    clean.write_text(syslog(record(1, serial=9)))
    assert main(["learn", "--state", str(state), "--strict", str(clean)]) == 0
    assert [o.number for o in _observations(state)] == [0, 1]  # what was read was saved either way


def _observations(state: Path) -> list[Any]:
    from seccomp_gen.store import Store

    with Store.open(state, readonly=True) as store:
        return store.observations()
