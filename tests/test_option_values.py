"""Hardening II, item 7: option values that would reach a manifest or a filter are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_gen.cli import main
from tests.test_emit import make_state
from tests.test_profile import fixed_observations


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return make_state(tmp_path / "state.db", fixed_observations())


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(["--format", "pod", "--image", ""], "--image '' is empty", id="empty image"),
        pytest.param(["--format", "pod", "--image", "busybox\nkind: x"], "control characters", id="newline"),
        pytest.param(["--format", "pod", "--image", "a\u2028b"], "control characters", id="U+2028"),
        pytest.param(
            ["--format", "kind", "--name", "a\x1bb"], "control characters", id="escape in kind name"
        ),
        pytest.param(["--format", "spo", "--name", ""], "is empty", id="empty spo name"),
    ],
)
def test_bad_manifest_values_are_one_error_line(
    state: Path, args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emit", "--state", str(state), "--arch", "x86_64", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert says in err.splitlines()[-1]
    assert err.splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "@nan"])
def test_since_must_be_a_time(value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "log"
    log.write_text("")
    assert main(["learn", "--state", str(tmp_path / "s.db"), "--since", value, str(log)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: Invalid value for --since: {value!r} is not a time (see 'seccomp-gen learn -h')"
    ]
    assert not (tmp_path / "s.db").exists()


# --- one forged record of another ABI -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "warned"),
    [
        pytest.param([], True, id="default ABIs: warned"),
        pytest.param(["--arch", "x86_64", "--arch", "i386"], False, id="asked for by name"),
    ],
)
def test_abi_seen_only_in_untrusted_lines_is_a_warning(
    tmp_path: Path, args: list[str], warned: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_profile import obs

    state = make_state(
        tmp_path / "state.db",
        [obs("x86_64", 0, "read"), obs("x86_64", 1, "write"), obs("i386", 26, "ptrace", trusted=False)],
    )
    assert main(["emit", "--state", str(state), *args]) == 0
    err = capsys.readouterr().err
    assert ("warning: i386 is covered only because of lines any local user can write" in err) == warned
    assert "x86_64 is covered only" not in err
