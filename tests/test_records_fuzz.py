"""Properties of the parser over generated input: never raises, finds records in noise, decodes hex."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_gen.events import SeccompEvent
from seccomp_gen.records import Format, RecordParser

pytestmark = pytest.mark.usefixtures("hot_loop")  # each test with the C and the Python hot loop

RECORD = (
    "audit: type=1326 audit(1795888524.926:4081): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=26871 "
    'comm="sh" exe="/bin/busybox" sig=0 arch=c000003e syscall=110 compat=0 ip=0x7fc30aaf34f7 code=0x7ffc0000'
)
FRAMES = [
    "",
    "[  270.853767] ",
    "5,2749,22675017521,-;",
    "2026-11-28T17:55:24.931804+00:00 vm kernel: [22675.017521] ",
    "Jul  6 15:37:40 host kernel: ",
]
# Pieces that steer generated text towards the parser's interesting paths.
PIECES = [
    "type=1326 ",
    "type=SECCOMP ",
    "audit(",
    "): ",
    " auid=",
    " uid=",
    " subj=",
    " pid=",
    " comm=",
    " exe=",
    " sig=",
    " arch=",
    " syscall=",
    " compat=",
    " ip=0x",
    " code=0x",
    "SECCOMP auid=",
    "kernel: ",
    "audit[1]: ",
    "callbacks suppressed",
    "audit_lost=",
    "Suppressed 3 messages",
    '{"MESSAGE": ',
    "\x1d",
    "\r",
    "\x00",
    '"',
    "7ffc0000",
    "4294967295",
    "-1",
    "\u00e9",
    "[ 1.0] ",
    "<5>",
    "node=a ",
    "msg=",
    "1701 ",
    'reason="seccomp" ',
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=30).map("".join)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(TEXT, st.sampled_from(list(Format)))
def test_any_text_line_never_raises(line: str, fmt: Format) -> None:
    parser = RecordParser(fmt)
    parser.feed_line(line)
    stats = parser.stats
    assert stats.lines == 1 == stats.records + stats.losses + stats.noise + stats.skipped_total


@SETTINGS
@given(st.lists(st.one_of(TEXT, st.sampled_from([RECORD])), max_size=8).map("\n".join))
def test_chunk_path_agrees_with_line_path(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    by_chunk = RecordParser()
    chunk_results = by_chunk.feed_chunk(data)
    by_line = RecordParser()
    lines = data.split(b"\n")
    if not lines[-1]:
        lines.pop()  # a final newline (or no data) ends the last line, it does not start one
    line_results = [r for line in lines if (r := by_line.feed_line(line.decode("utf-8", "replace")))]
    assert chunk_results == line_results
    assert (by_chunk.stats.lines, by_chunk.stats.records, by_chunk.stats.losses) == (
        by_line.stats.lines,
        by_line.stats.records,
        by_line.stats.losses,
    )
    assert by_chunk.stats.skipped == by_line.stats.skipped


@SETTINGS
@given(st.binary(max_size=600), st.sampled_from(list(Format)))
def test_any_bytes_never_raise(data: bytes, fmt: Format) -> None:
    parser = RecordParser(fmt)
    parser.feed_chunk(data)
    stats = parser.stats
    assert stats.lines == stats.records + stats.losses + stats.noise + stats.skipped_total


NOISE_LINE = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r\x00\x1d"), max_size=80
).filter(lambda text: "=" not in text and "uppressed" not in text and "Missed" not in text)


@SETTINGS
@given(st.lists(NOISE_LINE, max_size=6), st.lists(NOISE_LINE, max_size=6), st.sampled_from(FRAMES))
def test_record_in_noise_is_found(before: list[str], after: list[str], frame: str) -> None:
    lines = [*before, frame + RECORD, *after]
    data = "".join(line + "\n" for line in lines).encode()
    parser = RecordParser()
    [event] = parser.feed_chunk(data)
    assert isinstance(event, SeccompEvent)
    assert (event.syscall, event.serial, event.pid, event.comm) == (110, 4081, 26871, "sh")
    assert parser.stats.noise == len(before) + len(after)


@SETTINGS
@given(st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=15))
def test_hex_comm_and_exe_round_trip(name: str) -> None:
    encoded = name.encode().hex().upper()
    line = RECORD.replace('comm="sh"', f"comm={encoded}").replace('exe="/bin/busybox"', f"exe={encoded}")
    event = RecordParser().feed_line(line)
    assert isinstance(event, SeccompEvent)
    assert (event.comm, event.exe) == (name, name)
    [by_chunk] = RecordParser().feed_chunk(line.encode())
    assert by_chunk == event


FIELDS = RECORD.split("): ", 1)[1]
WHOLE = [  # everyday record and auditd lines: the fast paths' own shapes, before mutation
    RECORD,
    f"2026-11-28T11:00:00.468493+00:00 vm1 kernel: [22675.017521] {RECORD}",
    f"Jul 16 15:37:40 h2 kernel: {RECORD}",
    f"<5>[  463.512820][   T27] {RECORD}",
    f"5,2749,22675017521,-;{RECORD}",
    f"type=SECCOMP msg=audit(1795888524.926:4081): {FIELDS}",
    f"node=web1 type=SECCOMP msg=audit(1795888524.926:4081): {FIELDS}\x1dARCH=x86_64 SYSCALL=close",
    "type=SYSCALL msg=audit(1795888524.926:4081): arch=c000003e syscall=257 success=yes",
    'type=CWD msg=audit(1795888524.926:4081): cwd="/"',
    # journal JSON of the kernel transport, read by LineReader.journal_entry
    '{"MESSAGE":"'
    + RECORD.replace('"', '\\"')
    + '","SYSLOG_FACILITY":"0","_TRANSPORT":"kernel","_HOSTNAME":"vm"}',
    '{"_TRANSPORT":"kernel","PRIORITY":"5","MESSAGE":"' + RECORD.replace('"', "\\u0022") + '"}',
]
# Characters where bytes patterns and str patterns could part: separators, digits, hex, spaces
# that only str patterns call spaces, non-ASCII digits and letters, bytes that are not UTF-8.
MUTANTS = [
    "0",
    "9",
    "a",
    "F",
    "(",
    ")",
    ":",
    " ",
    "=",
    '"',
    "\x1d",
    "\x1f",
    "\r",
    "\xa0",
    "\u3000",
    "٣",
    "\x00",
]
# An edit lands next to a separator (where fields and framing begin and end), at a character.
EDITS = st.lists(
    st.tuples(
        st.integers(0, 10**6), st.sampled_from(["insert", "replace", "delete"]), st.sampled_from(MUTANTS)
    ),
    max_size=4,
)


def _edit(line: str, edits: list[tuple[int, str, str]]) -> str:
    for where, how, text in edits:
        edges = [at + side for at, char in enumerate(line) if char in " =(:;[]" for side in (0, 1)] or [0]
        at = edges[where % len(edges)]
        line = line[:at] + ("" if how == "delete" else text) + line[at + (how != "insert") :]
    return line


@SETTINGS
@given(
    st.lists(st.tuples(st.sampled_from(WHOLE), EDITS), min_size=1, max_size=12),
    st.integers(0, 40),
    st.sampled_from(list(Format)),
    st.booleans(),
)
def test_mutated_records_read_alike_by_chunk_and_by_line(
    picks: list[tuple[str, list[tuple[int, str, str]]]], noise: int, fmt: Format, final_newline: bool
) -> None:
    """Everyday lines, a few characters changed: the chunk's fast loops (dense, sparse with ``noise``
    lines, auditd's bulk count) read every line exactly as the general path does, line by line.
    """
    lines = [_edit(line, edits) for line, edits in picks] + ["noise"] * noise
    data = ("\n".join(lines) + ("\n" if final_newline else "")).encode()
    by_chunk, by_line = RecordParser(fmt), RecordParser(fmt)
    chunk_results = by_chunk.feed_chunk(data)
    pieces = data.split(b"\n")
    if not pieces[-1]:
        pieces.pop()
    line_results = [r for line in pieces if (r := by_line.feed_line(line.decode("utf-8", "replace")))]
    assert chunk_results == line_results
    assert by_chunk.stats == by_line.stats


NAMED = [  # framings that carry a name: syslog host, auditd node
    "2026-11-28T11:00:00.468493+00:00 {name} kernel: [22675.017521] " + RECORD,
    "Jul 16 15:37:40 {name} kernel: " + RECORD,
    "node={name} type=SECCOMP msg=audit(1795888524.926:4081): " + FIELDS,
    "node={name} type=SYSCALL msg=audit(1795888524.926:4081): arch=c000003e syscall=257",
]


@SETTINGS
@given(st.text(st.characters(blacklist_characters="\n"), min_size=1, max_size=6), st.sampled_from(NAMED))
def test_any_host_or_node_name_reads_alike_by_chunk_and_by_line(name: str, template: str) -> None:
    """Whatever characters a host or node name holds (spaces only str patterns know, non-ASCII,
    colons), the fast loops read its line as the general path does, alone or among records.
    """
    line = template.format(name=name)
    for lines in ([line], [line, RECORD, RECORD, line]):
        data = "\n".join(lines).encode("utf-8", "surrogatepass")
        by_chunk, by_line = RecordParser(), RecordParser()
        chunk_results = by_chunk.feed_chunk(data)
        line_results = [
            r for piece in data.split(b"\n") if (r := by_line.feed_line(piece.decode("utf-8", "replace")))
        ]
        assert chunk_results == line_results
        assert by_chunk.stats == by_line.stats


def _entry(message: str, **fields: object) -> str:
    return json.dumps({"MESSAGE": message, **fields})


@pytest.mark.parametrize(
    "line",
    [
        _entry(RECORD, _TRANSPORT="kernel", SYSLOG_FACILITY="0", _HOSTNAME="vm"),
        _entry(RECORD, _TRANSPORT="kernel", SYSLOG_FACILITY="13", _HOSTNAME="vm"),  # a forger's facility
        _entry(RECORD, _TRANSPORT="kernel", SYSLOG_FACILITY="0x1", _HOSTNAME=7),
        _entry(RECORD, _TRANSPORT="kernel"),
        _entry(RECORD, _TRANSPORT="syslog", _HOSTNAME="vm"),
        _entry(RECORD, _TRANSPORT="kernel", _AUDIT_TYPE="1326"),
        _entry(RECORD.replace("pid=26871", "subj=caf\u00e9 pid=26871"), _TRANSPORT="kernel"),
        _entry("[  270.853767] " + RECORD, _TRANSPORT="kernel"),
        _entry("x " + RECORD, _TRANSPORT="kernel"),
        _entry(RECORD.replace("1326", "1400"), _TRANSPORT="kernel"),
        _entry(RECORD + "\ud800", _TRANSPORT="kernel"),
        '{"MESSAGE": "' + RECORD.replace('"', '\\"') + '", "_TRANSPORT": "kernel", "_TRANSPORT": "audit"}',
        "[" + _entry(RECORD, _TRANSPORT="kernel") + "]",
        # What the C loop reads itself (journalctl's compact separators) and what it leaves to json.loads
        json.dumps({"_TRANSPORT": "kernel", "MESSAGE": RECORD, "_HOSTNAME": "vm"}, separators=(",", ":")),
        json.dumps({"MESSAGE": RECORD.replace('comm="', 'comm="a\\\\b/'), "_TRANSPORT": "kernel"}),
        json.dumps({"MESSAGE": RECORD, "_TRANSPORT": "kernel", "X": "caf\u00e9\t\u2028"}),
        json.dumps({"MESSAGE": RECORD, "_TRANSPORT": "kernel", "X": "caf\u00e9"}, ensure_ascii=False),
        _entry(RECORD, _TRANSPORT="kernel").replace("/bin/", "/\\u0062in/"),  # \u in MESSAGE: json.loads
        _entry(RECORD, _TRANSPORT="kernel").replace("/bin/", "\\/bin\\/"),
        _entry(RECORD, _TRANSPORT="kernel", _HOSTNAME=""),
        _entry(RECORD, _TRANSPORT="kernel", _HOSTNAME=None),
        _entry(RECORD, _TRANSPORT="kernel", _HOSTNAME=["vm"]),
        _entry(RECORD, _TRANSPORT="kernel", SYSLOG_FACILITY="\u0030"),
        _entry(RECORD, _TRANSPORT="kernel", SYSLOG_FACILITY="1234"),
        _entry(RECORD, _TRANSPORT="kernel", X=7, Y=[1, "a"], Z={"a": None}),
        _entry(RECORD, _TRANSPORT="kernel") + " \t",
        _entry(RECORD, _TRANSPORT="kernel") + " x",
        _entry(RECORD, _TRANSPORT="kernel")[:-1],
        _entry(RECORD, _TRANSPORT="kernel")[:-1] + ",}",
        _entry(RECORD, _TRANSPORT="kernel").replace('", "', '"  ,\t"').replace('": "', '"\t:  "'),
        '{"MESSAGE": "' + RECORD.replace('"', '\\"') + '", "MESSAGE": "x", "_TRANSPORT": "kernel"}',
        '{"_HOSTNAME": "a", "MESSAGE": "'
        + RECORD.replace('"', '\\"')
        + '", "_TRANSPORT": "kernel", "_HOSTNAME": "b"}',
        '{"_TRANSPORT": "kernel", "MESSAGE": "' + RECORD.replace('"', '\\"') + '", "_TRANSPORT": "kernel"}',
        '{"_TRANS\\u0050ORT": "kernel", "MESSAGE": "' + RECORD.replace('"', '\\"') + '"}',
        '{"MESSAGE": "' + RECORD.replace('"', '\\"') + '", "_TRANSPORT": "kernel", "X": "\x01"}',
        '{"MESSAGE": "' + RECORD.replace('"', '\\"') + '", "_TRANSPORT": "kernel", "X": "a\\q"}',
        '{"MESSAGE": "' + RECORD.replace('"', '\\"') + '", "_TRANSPORT": "kernel", "X": "a\\u12"}',
        '{"MESSAGE": "' + RECORD.replace('"', '\\"') + '", "_TRANSPORT": "kernel", "X": "a\\',
        '{ "MESSAGE": "' + RECORD.replace('"', '\\"') + '", "_TRANSPORT": "kernel"}',
        _entry(RECORD.replace("pid=26871", "pid=26871 subj=x"), _TRANSPORT="kernel", _HOSTNAME="h"),
    ],
)
@pytest.mark.parametrize("accelerated", [None, False])
def test_journal_entries_read_as_the_general_path_reads_them(line: str, accelerated: bool | None) -> None:
    """LineReader.journal_entry takes the everyday kernel entries; whatever it takes reads as before."""
    chunk = RecordParser(accelerated=accelerated)
    by_line = RecordParser(accelerated=False)
    assert chunk.feed_chunk(line.encode("utf-8", "surrogatepass") + b"\n") == [
        r for r in [by_line.feed_line(line.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))] if r
    ]
    assert chunk.stats == by_line.stats


_JSON_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=4)


@SETTINGS
@given(
    comm=_JSON_TEXT,
    host=st.none() | _JSON_TEXT,
    facility=st.none() | st.sampled_from(["0", "4", "13", "x", "1234", ""]),
    extra=st.dictionaries(st.sampled_from(["PRIORITY", "_PID", "X"]), _JSON_TEXT | st.integers(), max_size=2),
    compact=st.booleans(),
    ascii_only=st.booleans(),
)
def test_any_journal_entry_reads_alike_by_chunk_and_by_line(
    *,
    comm: str,
    host: str | None,
    facility: str | None,
    extra: dict[str, object],
    compact: bool,
    ascii_only: bool,
) -> None:
    """Journal entries of every shape a field value gives (escapes, non-ASCII, any order of keys): the C
    loop's own reading of the JSON equals json.loads and the general path."""
    fields: dict[str, object] = {"MESSAGE": RECORD.replace('comm="sh"', "comm=" + json.dumps(comm))}
    fields |= {"_TRANSPORT": "kernel", **extra}
    if host is not None:
        fields["_HOSTNAME"] = host
    if facility is not None:
        fields["SYSLOG_FACILITY"] = facility
    separators = (",", ":") if compact else None
    line = json.dumps(fields, separators=separators, ensure_ascii=ascii_only)
    other = json.dumps({**fields, "_HOSTNAME": f"{host}2", "SYSLOG_FACILITY": "4"}, separators=separators)
    data = "\n".join([line, RECORD, other, line, ""]).encode("utf-8")  # what differs is told apart
    by_chunk, by_line = RecordParser(), RecordParser()
    line_results = [
        r for piece in data.split(b"\n")[:-1] if (r := by_line.feed_line(piece.decode("utf-8", "replace")))
    ]
    assert by_chunk.feed_chunk(data) == line_results
    assert by_chunk.stats == by_line.stats


def test_the_c_loop_reads_journalctl_entries_itself(hot_loop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``journalctl -o json``'s everyday kernel entry never reaches Python's json.loads in the C loop."""
    from seccomp_gen import _reader

    line = json.dumps({"_TRANSPORT": "kernel", "MESSAGE": RECORD, "_HOSTNAME": "vm"}, separators=(",", ":"))
    expected = RecordParser(accelerated=False).feed_chunk(line.encode() + b"\n")
    assert len(expected) == 1
    if hot_loop == "c":
        monkeypatch.setattr(_reader.LineReader, "journal_entry", lambda self, line: pytest.fail("json.loads"))
    assert RecordParser().feed_chunk(line.encode() + b"\n") == expected
