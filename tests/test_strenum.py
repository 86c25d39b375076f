"""The enums stored and printed as their values (counter kinds, skip reasons, source kinds)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from seccomp_gen.observations import CounterKind
from seccomp_gen.parse_stats import SkipReason
from seccomp_gen.sources import SourceKind
from seccomp_gen.strenum import StrEnum


@pytest.mark.parametrize("member", [CounterKind.FILTERED, SkipReason.TOO_LONG, SourceKind.GZIP])
def test_a_member_is_its_value_everywhere_it_goes(member: StrEnum) -> None:
    value = member.value
    assert (str(member), f"{member}", json.dumps(member)) == (value, value, json.dumps(value))
    assert {member: 1} == {value: 1}
    db = sqlite3.connect(":memory:")
    assert db.execute("SELECT ?", (member,)).fetchone() == (value,)
    db.close()
