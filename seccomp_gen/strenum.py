"""The base of the enums whose members are stored, printed and compared as their string values.

(``enum.StrEnum`` does this from Python 3.11; the project supports 3.10.)
"""

from __future__ import annotations

import enum


class StrEnum(str, enum.Enum):
    """A member equals, hashes, formats and prints as its value (``"filtered"``), so it goes into
    SQLite, JSON and f-strings as that string, and a value read back finds its member's dict entries."""

    def __str__(self) -> str:
        return str(self.value)


__all__ = ["StrEnum"]
