"""The command-line tool: a thin Typer client of the library.

Each command module registers its commands on ``app``; ``main(argv) -> int`` is what the console
script and the tests call. Errors the library raises on purpose (``SeccompGenError``) become one
``error: ...`` line on stderr and exit status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from seccomp_gen import __version__
from seccomp_gen.cli import _emit, _explain, _learn, _syscalls, _tutorial
from seccomp_gen.errors import SeccompGenError

EXIT_ERROR = 2
EXIT_SIGINT = 130

app = typer.Typer(
    name="seccomp-gen",
    help="Turn the kernel's seccomp audit records into minimal seccomp profiles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seccomp-gen {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Turn the kernel's seccomp audit records into minimal seccomp profiles.

    tail -f /var/log/syslog | seccomp-gen learn
    seccomp-gen emit --arch x86_64 > profile.json
    """


for _module in (_syscalls, _explain, _learn, _emit, _tutorial):
    _module.register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="seccomp-gen", standalone_mode=False)
    except SeccompGenError as exc:
        typer.echo(f"error: {exc}", err=True)
        return EXIT_ERROR
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        return EXIT_SIGINT
    except typer.TyperException as exc:  # usage errors: bad option, missing argument, ...
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        return int(getattr(exc, "exit_code", EXIT_ERROR))
    except BrokenPipeError:
        _silence_broken_pipe()
        return 128 + signal.SIGPIPE
    return result if isinstance(result, int) else 0


def _silence_broken_pipe() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


__all__ = ["app", "main"]
