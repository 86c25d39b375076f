"""CLI commands: learn, status, reset, forget (issue 4)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
