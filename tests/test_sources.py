"""Sources on their own: bounded line splitting, file positions and rotation, gzip, journalctl, kmsg."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest

from seccomp_gen.errors import SourceError
from seccomp_gen.events import LossKind
from seccomp_gen.journal import JournalSource
from seccomp_gen.kmsg import KmsgSource, parse_kmsg_seq
from seccomp_gen.lines import LineSplitter
from seccomp_gen.sources import Chunk, FileSource, GzipSource, ReadControl, StdinSource, StopFlag


def _read_all(source: FileSource | GzipSource | JournalSource | StdinSource) -> list[Chunk]:
    stop = StopFlag()
    try:
        return list(source.chunks(ReadControl(stop)))
    finally:
        stop.close()


def _data(chunks: list[Chunk]) -> bytes:
    return b"".join(c.data for c in chunks)


@pytest.mark.parametrize(
    ("pieces", "expected", "too_long"),
    [
        pytest.param([b"a\nb\n"], [b"a\nb\n"], 0, id="whole lines pass through"),
        pytest.param([b"ab", b"c\nd"], [b"", b"abc\n"], 0, id="a line split across reads waits for its end"),
        pytest.param(
            [b"x" * 20, b"yy\nok\n"], [b"", b"ok\n"], 1, id="over-long line dropped up to its newline"
        ),
        pytest.param([b"x" * 20, b"y" * 20, b"\nok\n"], [b"", b"", b"ok\n"], 1, id="dropping spans reads"),
        pytest.param([b"ok\n" + b"z" * 20], [b"ok\n"], 1, id="over-long tail after a good line"),
    ],
)
def test_line_splitter(pieces: list[bytes], expected: list[bytes], too_long: int) -> None:
    splitter = LineSplitter(max_line=16)
    assert [splitter.push(p) for p in pieces] == expected
    assert splitter.too_long == too_long


def test_line_splitter_memory_stays_bounded() -> None:
    splitter = LineSplitter(max_line=1024)
    for _ in range(100):  # 100 MiB without a newline
        splitter.push(b"q" * (1 << 20))
        assert splitter.pending <= 1024
    assert splitter.push(b"\nfine\n") == b"fine\n"
    assert splitter.too_long == 1


def test_splitter_finish_returns_the_unterminated_last_line() -> None:
    splitter = LineSplitter()
    assert splitter.push(b"one\ntwo") == b"one\n"
    assert splitter.finish() == b"two\n"
    assert splitter.finish() == b""


def test_stdin_source_reads_a_pipe_until_eof() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"first\nsecond")
    os.close(write_fd)
    try:
        assert _data(_read_all(StdinSource(read_fd))) == b"first\nsecond\n"
    finally:
        os.close(read_fd)


def test_stdin_source_drains_the_pipe_when_stopped() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"already in the pipe\n")
    stop = StopFlag()
    stop.set()
    try:
        chunks = list(StdinSource(read_fd).chunks(ReadControl(stop)))
        assert _data(chunks) == b"already in the pipe\n"
    finally:
        for fd in (read_fd, write_fd):
            os.close(fd)
        stop.close()


def _resume(path: Path, source: FileSource) -> FileSource:
    chunks = _read_all(source)
    last = chunks[-1].position
    assert last is not None
    return FileSource(path, saved=[last])


def test_file_resumes_after_what_was_read(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_bytes(b"one\ntwo\n")
    again = _resume(log, FileSource(log))
    with log.open("ab") as fh:
        fh.write(b"three\n")
    assert _data(_read_all(again)) == b"three\n"


@pytest.mark.parametrize(
    ("change", "expected_note"),
    [
        pytest.param("truncate", "truncated or rewritten", id="truncated below the offset"),
        pytest.param("rewrite", "truncated or rewritten", id="same size, different head"),
        pytest.param("replace", "rotated", id="a new file under the same name"),
    ],
)
def test_file_changed_behind_our_back_is_read_from_the_start(
    tmp_path: Path, change: str, expected_note: str
) -> None:
    log = tmp_path / "syslog"
    log.write_bytes(b"old line one\nold line two\n")
    again = _resume(log, FileSource(log))
    if change == "truncate":
        log.write_bytes(b"new\n")
    elif change == "rewrite":
        with log.open("r+b") as fh:
            fh.write(b"NEW")
    else:
        log.rename(tmp_path / "syslog.1")
        log.write_bytes(b"fresh file\n")
    chunks = _read_all(again)
    assert expected_note in " ".join(n for c in chunks for n in c.notes)
    assert _data(chunks) == log.read_bytes()


def test_a_renamed_file_keeps_its_position(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_bytes(b"read before rotation\n")
    first = _read_all(FileSource(log))
    with log.open("ab") as fh:
        fh.write(b"written just before rotation\n")
    log.rename(tmp_path / "syslog.1")
    saved = [c.position for c in first if c.position is not None][-1:]
    assert (
        _data(_read_all(FileSource(tmp_path / "syslog.1", saved=saved))) == b"written just before rotation\n"
    )


def test_from_start_ignores_the_position(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_bytes(b"a\n")
    position = _read_all(FileSource(log))[-1].position
    assert position is not None
    assert _data(_read_all(FileSource(log, saved=[position], from_start=True))) == b"a\n"


def test_gzip_is_read_once_and_remembered(tmp_path: Path) -> None:
    path = tmp_path / "syslog.2.gz"
    path.write_bytes(gzip.compress(b"x\n" * 1000) + gzip.compress(b"second member\n"))
    chunks = _read_all(GzipSource(path))
    assert _data(chunks) == b"x\n" * 1000 + b"second member\n"
    final = chunks[-1].position
    assert final is not None
    assert final.complete
    again = _read_all(GzipSource(path, saved=[final]))
    assert _data(again) == b""
    assert "already read" in again[0].notes[0]


def test_truncated_gzip_is_an_error_after_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    whole = gzip.compress(os.urandom(1 << 16).hex().encode() + b"\n")
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SourceError, match="truncated gzip"):
        _read_all(GzipSource(path))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("missing", "no such file", id="missing file"),
        pytest.param("", "is a directory", id="directory"),
    ],
)
def test_unreadable_files_are_source_errors(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        _read_all(FileSource(tmp_path / name))


def _fake_journalctl(tmp_path: Path, output: str, status: int = 0) -> Path:
    """A journalctl stand-in: records its arguments, prints ``output``."""
    (tmp_path / "out.json").write_text(output)
    script = tmp_path / "journalctl"
    body = f'echo "$@" > {tmp_path}/args\ncat {tmp_path}/out.json\necho "no access" >&2\nexit {status}\n'
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_journal_source_runs_journalctl_and_tracks_the_cursor(tmp_path: Path) -> None:
    lines = '{"MESSAGE":"a","__CURSOR":"s=1;i=1"}\n{"MESSAGE":"b","__CURSOR":"s=1;i=2"}\n'
    script = _fake_journalctl(tmp_path, lines)
    source = JournalSource(program=str(script), cursor="s=1;i=0", follow=True)
    chunks = _read_all(source)
    assert _data(chunks) == lines.encode()
    assert source.cursor == "s=1;i=2"
    args = (tmp_path / "args").read_text().split()
    assert "--after-cursor=s=1;i=0" in args
    assert {"-o", "json", "_TRANSPORT=kernel", "_TRANSPORT=audit", "--follow", "--no-tail"} <= set(args)


@pytest.mark.parametrize(
    ("program", "status", "message"),
    [
        pytest.param("no-such-journalctl", 0, "not found", id="journalctl missing"),
        pytest.param("FAKE", 1, "no access", id="journalctl fails"),
    ],
)
def test_journal_errors_are_clear(tmp_path: Path, program: str, status: int, message: str) -> None:
    if program == "FAKE":
        program = str(_fake_journalctl(tmp_path, "", status))
    with pytest.raises(SourceError, match=message):
        _read_all(JournalSource(program=program))


@pytest.mark.parametrize(
    ("line", "seq"),
    [
        pytest.param(b"5,1085,22242881695,-;audit: x", 1085, id="record"),
        pytest.param(b"6,7,1,c,caller=T12;text", 7, id="extra header fields"),
        pytest.param(b"audit: no header", None, id="no header"),
        pytest.param(b"5,x,1,-;text", None, id="bad sequence"),
    ],
)
def test_parse_kmsg_seq(line: bytes, seq: int | None) -> None:
    assert parse_kmsg_seq(line) == seq


@pytest.mark.parametrize(
    ("last", "seqs", "overwritten", "expected_lines", "expected_losses"),
    [
        pytest.param(None, [5, 6, 7], False, 3, [], id="contiguous"),
        pytest.param(None, [5, 9], False, 2, [(LossKind.KMSG_GAP, 3)], id="a jump is a gap"),
        pytest.param(6, [5, 6, 7], False, 1, [], id="already learned records are skipped"),
        pytest.param(2, [5], False, 1, [(LossKind.KMSG_GAP, 2)], id="gap since the last run"),
        pytest.param(4, [8], True, 1, [(LossKind.KMSG_OVERWRITTEN, 3)], id="EPIPE then a jump"),
    ],
)
def test_kmsg_sequence_accounting(
    last: int | None,
    seqs: list[int],
    overwritten: bool,
    expected_lines: int,
    expected_losses: list[tuple[LossKind, int]],
) -> None:
    source = KmsgSource(last_seq=last, boot="test")
    source._overwritten = overwritten  # what a read that failed with EPIPE leaves behind
    losses: list[object] = []
    lines = [source._accept(f"5,{s},1,-;text {s}\n SUBSYSTEM=x\n".encode(), losses) for s in seqs]  # type: ignore[arg-type]
    assert sum(1 for line in lines if line is not None) == expected_lines
    assert [(loss.kind, loss.count) for loss in losses] == expected_losses  # type: ignore[attr-defined]
    assert source.position().seq == max(seqs)
    assert all(b"SUBSYSTEM" not in line for line in lines if line)


def test_kmsg_without_permission_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        list(KmsgSource(path=str(tmp_path / "nope")).chunks(ReadControl(StopFlag())))


def test_a_stopped_journal_keeps_the_cursor_of_the_last_whole_entry(tmp_path: Path) -> None:
    """journalctl cut off mid-entry by a stop: the cut entry's cursor is not saved (it is read next time)."""
    whole = '{"MESSAGE":"a","__CURSOR":"s=1;i=1"}\n{"MESSAGE":"b","__CURSOR":"s=1;i=2"}\n'
    (tmp_path / "out.json").write_text(whole + '{"__CURSOR":"s=1;i=3","MESS')
    script = tmp_path / "journalctl"
    script.write_text(f"#!/bin/sh\ncat {tmp_path}/out.json\nexec sleep 30\n")
    script.chmod(0o755)
    source = JournalSource(program=str(script), follow=True)
    stop = StopFlag()
    data = b""
    try:
        for chunk in source.chunks(ReadControl(stop, lambda: 0.05)):
            data += chunk.data
            if data.count(b"\n") == 2:
                stop.set()
    finally:
        stop.close()
    assert data == whole.encode()
    assert source.cursor == "s=1;i=2"
