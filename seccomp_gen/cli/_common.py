"""Options and small printing helpers shared by several commands."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from seccomp_gen.profile import Finding

ContainerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--container",
        help="Only records of this container: its id, a prefix of it, or a glob (runc:web-*, podman:*, "
        "host); repeatable. Containers are known for records learned live (see status).",
        show_default=False,
    ),
]
PodOption = Annotated[
    list[str] | None,
    typer.Option(
        "--pod", help="Only records of this Kubernetes pod UID (or prefix); repeatable.", show_default=False
    ),
]
StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="State database (default: $SECCOMP_GEN_STATE, else $XDG_STATE_HOME/seccomp-gen/state.db).",
        show_default=False,
        readable=False,  # our own check says "error: cannot open state ...: permission denied"
    ),
]


def state_path(option: Path | None) -> Path:
    """``--state`` if given, else ``$SECCOMP_GEN_STATE``, else the XDG state directory."""
    if option is not None:
        return option
    env = os.environ.get("SECCOMP_GEN_STATE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "seccomp-gen" / "state.db"


def parse_time(value: str | None, option: str) -> float | None:
    """``--since``/``--until``: ISO 8601 (``2026-11-28T11:00:00Z``, local time without offset) or epoch
    seconds (``1732788000``, ``@1732788000``)."""
    if value is None:
        return None
    import math
    from datetime import datetime

    text = value.strip().removeprefix("@")
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):  # nan compares false with every stamp, inf keeps nothing
            raise typer.BadParameter(f"{value!r} is not a time", param_hint=option)
        return seconds
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither ISO 8601 (2026-11-28T11:00:00Z) nor epoch seconds", param_hint=option
        ) from None


def split_values(values: Iterable[str] | None) -> tuple[str, ...]:
    """``--allow a,b --allow c`` → ``("a", "b", "c")``."""
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())


def say_findings(findings: Iterable[Finding]) -> int:
    """Print findings on stderr; return how many were warnings."""
    from seccomp_gen.profile import Severity

    warnings = 0
    for finding in findings:
        typer.echo(str(finding), err=True)
        warnings += finding.severity is Severity.WARNING
    return warnings


def say_lines(lines: Sequence[str]) -> int:
    """Print each warning line on stderr; return how many (``--strict`` counts them)."""
    for line in lines:
        typer.echo(line, err=True)
    return len(lines)


def shown(text: str | None) -> str:
    """A process's comm or exe for the terminal: as is when printable, else quoted with escapes.

    Both come from the record (any process names itself), so raw they could carry terminal escapes.
    """
    if not text:
        return "?"
    return text if text.isprintable() else json.dumps(text)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
