"""Options shared by several commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="State database (default: $SECCOMP_GEN_STATE, else $XDG_STATE_HOME/seccomp-gen/state.db).",
        show_default=False,
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
