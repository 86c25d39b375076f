"""Hardening II, item 1: no number on a line can stall the learner (SQLite stops at 2**63 - 1).

The attack: any local user writes, through ``logger``, a record whose ``syscall=`` or a loss marker whose
count is past SQLite's integers. Before the fix every later ``learn /var/log/syslog`` ended in an
OverflowError traceback, the batch lost and the position not advanced, for ever.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_gen.cli import main
from seccomp_gen.observations import I64_MAX
from seccomp_gen.records import RecordParser
from seccomp_gen.store import Store
from tests._learn_support import counts, record, syslog
from tests.realpath import need_root
from tests.test_forgery import _logger_as_nobody, _private_rsyslog

HEADER = "2026-11-28T17:48:12.795875+00:00 vm"
POISON = [
    pytest.param(syslog(record(9223372036854775808, serial=7)), id="syscall 2**63"),
    pytest.param(syslog(record(18446744073709551615, serial=7)), id="syscall 2**64-1"),
    pytest.param(syslog(record(2**31, serial=7)), id="syscall past 31 bits"),
    pytest.param(
        f"{HEADER} kernel: kauditd_printk_skb: 18446744073709551615 callbacks suppressed\n", id="loss 2**64-1"
    ),
    pytest.param(
        f"{HEADER} kernel: kauditd_printk_skb: {I64_MAX + 1} callbacks suppressed\n", id="loss 2**63"
    ),
    pytest.param(
        f"{HEADER} host: kauditd_printk_skb: 18446744073709551615 callbacks suppressed\n",
        id="loss, no kernel tag",
    ),
]
GOOD = syslog(record(0, serial=8, comm="good"))  # read


@pytest.mark.usefixtures("hot_loop")
@pytest.mark.parametrize("poison", POISON)
def test_poison_line_is_skipped_and_learning_goes_on(
    poison: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, state = tmp_path / "syslog", tmp_path / "state.db"
    log.write_text(poison + GOOD)
    assert main(["learn", "--state", str(state), str(log)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert ("x86_64", 0, False) in counts(state)  # the good record after the poison is learned
    with log.open("a") as handle:
        handle.write(poison + syslog(record(1, serial=9, comm="good")))
    assert main(["learn", "--state", str(state), str(log)]) == 0  # the next run goes on past it too
    assert ("x86_64", 1, False) in counts(state)


@pytest.mark.usefixtures("hot_loop")
def test_syscall_past_every_abi_is_skipped_with_its_reason() -> None:
    parser = RecordParser()
    assert parser.feed_line(syslog(record(2**63, serial=7)).rstrip("\n")) is None
    list(parser.flush())
    assert parser.stats.skipped == {"number-out-of-range": 1}


def test_largest_loss_counts_add_up_without_failing_the_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Many markers of the largest count a line may carry: the sum stops at the largest integer."""
    log, state = tmp_path / "syslog", tmp_path / "state.db"
    markers = [
        f"2026-11-28T17:48:1{second}.795875+00:00 vm kernel: "
        f"kauditd_printk_skb: {I64_MAX} callbacks suppressed\n"
        for second in range(4)
    ]
    log.write_text("".join(markers[:3]))  # summed within one batch
    assert main(["learn", "--state", str(state), str(log)]) == 0
    with log.open("a") as handle:
        handle.write(markers[3])  # and in the database
    assert main(["learn", "--state", str(state), str(log)]) == 0
    capsys.readouterr()
    with Store.open(state, readonly=True) as store:
        assert [loss.records for loss in store.losses()] == [I64_MAX]


@pytest.mark.parametrize("number", ["99999999999999999999999", str(2**31)])
def test_forget_a_number_no_abi_has_is_one_error_line(
    number: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    (tmp_path / "syslog").write_text(GOOD)
    assert main(["learn", "--state", str(state), str(tmp_path / "syslog")]) == 0
    capsys.readouterr()
    assert main(["forget", "--state", str(state), "--arch", "x86_64", number]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: no ABI has a syscall numbered {number!r} (the largest is 2147483647)"
    ]


@pytest.mark.realpath
def test_logger_poison_as_nobody_through_real_rsyslog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need_root()
    state = tmp_path / "state.db"
    with _private_rsyslog() as directory:
        _logger_as_nobody(directory / "log", "-t", "kernel", record(9223372036854775808, serial=7))
        _logger_as_nobody(directory / "log", "kauditd_printk_skb: 18446744073709551615 callbacks suppressed")
        _logger_as_nobody(directory / "log", "-t", "kernel", record(0, serial=8, comm="good"))
        log = directory / "syslog"
        for _ in range(500):
            if log.exists() and log.read_text().count("\n") >= 3:
                break
            import time

            time.sleep(0.02)
        assert main(["learn", "--state", str(state), str(log)]) == 0
        assert main(["learn", "--state", str(state), str(log)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert ("x86_64", 0, False) in counts(state)


# --- item 7: a loss marker only in the kernel's own form, at the message start ---------------------------

FAKE_LOSSES = [
    pytest.param(
        "6,900,22242881695,-;a.out[4242]: segfault at 0 ip 0 sp 0 error 4 in "
        "kauditd_printk_skb: 9999 callbacks suppressed[400000+1000]",
        id="kmsg segfault file name",
    ),
    pytest.param(
        f"{HEADER} kernel: [22242.881695] x[1]: segfault in Suppressed 500 messages from /x[1+2]",
        id="syslog segfault journald words",
    ),
    pytest.param(
        '{"_TRANSPORT":"kernel","MESSAGE":"y[2]: segfault in audit_lost=77 audit_rate_limit=0[1+2]",'
        '"__REALTIME_TIMESTAMP":"1764351292795875"}',
        id="journald segfault audit_lost",
    ),
]


@pytest.mark.usefixtures("hot_loop")
@pytest.mark.parametrize("line", FAKE_LOSSES)
def test_loss_words_inside_a_user_chosen_message_are_not_a_loss(line: str) -> None:
    parser = RecordParser()
    assert parser.feed_line(line) is None
    assert list(parser.flush()) == []


@pytest.mark.usefixtures("hot_loop")
def test_the_kernels_own_marker_is_still_a_loss() -> None:
    parser = RecordParser()
    parsed = parser.feed_line("6,901,22242881695,-;kauditd_printk_skb: 12 callbacks suppressed")
    assert parsed is not None
    assert getattr(parsed, "count", None) == 12


# --- item 6: names past the kernel's bounds are malformed, never stored ---------------------------------


@pytest.mark.usefixtures("hot_loop")
@pytest.mark.parametrize(
    ("comm", "exe", "kept"),
    [
        pytest.param("a" * 15, "/bin/" + "x" * 4000, True, id="within bounds"),
        pytest.param("a" * 65, "/bin/cat", False, id="comm past 64"),
        pytest.param("cat", "/" + "x" * 8192, False, id="exe past PATH_MAX"),
    ],
)
def test_overlong_names_are_skipped(comm: str, exe: str, kept: bool) -> None:
    parser = RecordParser()
    parsed = [parser.feed_line(syslog(record(0, serial=3, comm=comm, exe=exe)).rstrip("\n")), *parser.flush()]
    events = [p for p in parsed if p is not None]
    assert len(events) == int(kept)
    assert parser.stats.skipped == ({} if kept else {"string-too-long": 1})
