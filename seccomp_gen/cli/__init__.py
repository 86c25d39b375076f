"""The command-line tool: a thin Typer client of the library.

Each command module registers its commands on ``app``; ``main(argv) -> int`` is what the console
script and the tests call. Errors the library raises on purpose (``SeccompGenError``) become one
``error: ...`` line on stderr and exit status 2, and so does an ``OSError`` naming a file (a path this
user cannot look at); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from seccomp_gen import __version__
from seccomp_gen.cli import _emit, _explain, _learn, _profiles, _state, _syscalls, _tutorial
from seccomp_gen.errors import SeccompGenError

EXIT_ERROR = 2
EXIT_SIGINT = 130
EXIT_SIGPIPE = 128 + signal.SIGPIPE
EXIT_SIGTERM = 128 + signal.SIGTERM

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

    tail -n0 -F /var/log/syslog | seccomp-gen learn
    seccomp-gen emit --arch x86_64 > profile.json
    """


for _module in (_syscalls, _explain, _learn, _state, _emit, _profiles, _tutorial):
    _module.register(app)

# Metavars in words (``--arch ABI``, not the annotation's ``<list[str]>``), by parameter name.
_METAVARS = {
    "arch": "ABI", "pod": "UID", "container": "ID", "comm": "GLOB", "exe": "GLOB", "subj": "GLOB",
    "enosys": "NAME", "allow": "NAME", "uid": "UID", "pid": "PID", "since": "TIME", "until": "TIME",
    "base": "RUNTIME", "errno": "ERRNO", "spo_version": "VERSION", "profiles_dir": "DIR",
    "profile_path": "PATH", "image": "IMAGE", "name": "NAME", "query": "QUERY", "action": "ACTION",
}  # fmt: skip


def _settle_help(typer_app: typer.Typer) -> None:
    """Each command's whole first paragraph as its summary in ``--help``, and metavars in words."""
    import enum
    import inspect
    import typing
    from pathlib import Path

    from typer.models import ArgumentInfo, OptionInfo

    for info in typer_app.registered_commands:
        callback = info.callback
        if callback is None:
            continue
        doc = inspect.getdoc(callback) or ""
        if info.short_help is None and doc:
            info.short_help = " ".join(doc.split("\n\n", 1)[0].split())
        hints = typing.get_type_hints(callback, include_extras=True)
        # Annotations are strings here (``from __future__ import annotations``), evaluated again, to new
        # option objects, each time they are read: keep the evaluated ones, so that what is set below
        # is what Typer reads.
        callback.__annotations__ = dict(hints)
        for name, hint in hints.items():
            if typing.get_origin(hint) is not Annotated:
                continue
            inner = typing.get_args(hint)[0]
            bare = [t for t in typing.get_args(inner) if t is not type(None)] or [inner]
            if isinstance(bare[0], type) and issubclass(bare[0], enum.Enum):
                continue  # choices already read as words
            for meta in hint.__metadata__:
                if isinstance(meta, (OptionInfo, ArgumentInfo)) and meta.metavar is None:
                    if bare[0] is bool:
                        continue
                    word = "PATH" if bare[0] is Path else _METAVARS.get(name, name.upper())
                    meta.metavar = word


_settle_help(app)


def _argument_type(self: Any, ctx: Any) -> str | None:
    """An argument's name says what it is (``FILES...``, ``PROFILE``): no ``<list[Path]>`` after it.
    Typer prints the annotation's type there whatever the metavar; tests/test_cli_meta.py checks it."""
    del self, ctx
    return None


typer.core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Signals end a run the way shell users expect, with at most one short line on stderr: a closed
    pipe (``seccomp-gen explain big.log | head``) exits 141 silently, SIGINT 130, SIGTERM 143.
    ``learn`` installs its own handlers so that it can save what it read first.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    from seccomp_gen import accel

    accel.tune_allocator()
    with _Signals() as signals:
        try:
            status = _run(args)
        except BrokenPipeError:
            status = EXIT_SIGPIPE
        except KeyboardInterrupt:
            status = _said("interrupted", EXIT_SIGINT)
        except _Terminated:
            status = _said("terminated", EXIT_SIGTERM)
        if signals.pipe_broken or status == EXIT_SIGPIPE:
            # A write may also end short without an error (the reader left mid-write): SIGPIPE tells.
            _silence_closed_streams()
            return EXIT_SIGPIPE
        return status


def _run(args: list[str]) -> int:
    """Parse and invoke through Click directly: Typer's own ``main`` turns EPIPE into a bare exit 1."""
    command = typer.main.get_command(app)
    try:
        with command.make_context("seccomp-gen", args) as ctx:
            result = command.invoke(ctx)
    except SeccompGenError as exc:
        typer.echo(f"error: {exc}", err=True)
        return EXIT_ERROR
    except OSError as exc:
        # A path the user gave that cannot even be looked at: under a directory this user may not
        # enter (EACCES), a name too long: Path.exists raises for those. The user's environment, not
        # a bug: one line. (An OSError without a file name, a closed pipe say, is not this.)
        if exc.filename is None:
            raise
        reason = (exc.strerror or str(exc)).lower()
        typer.echo(f"error: {str(exc.filename)!r}: {reason}", err=True)
        return EXIT_ERROR
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _say_quietly("interrupted")
        return EXIT_SIGINT
    except typer.TyperException as exc:  # bad option or value, missing argument, unknown command
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `seccomp-gen` asks for the help
            typer.echo(_help_text(exc), err=True)
            return EXIT_ERROR
        # One line, like every other error: Click's own form is a usage block of three or more lines.
        typer.echo(f"error: {_usage_message(exc)}", err=True)
        return int(getattr(exc, "exit_code", EXIT_ERROR))
    return result if isinstance(result, int) else 0


def _help_text(exc: Exception) -> str:
    """Click's message for ``exc`` as laid out (the help a no_args_is_help error carries)."""
    format_message = getattr(exc, "format_message", None)
    return str(format_message() if callable(format_message) else exc)


def _usage_message(exc: Exception) -> str:
    """Click's message for ``exc`` on one line, pointing a usage error at the command's help."""
    message = " ".join(_help_text(exc).split())
    message = message.replace(": Value error, ", ": ")  # how a rejected choice reads through pydantic
    ctx = getattr(exc, "ctx", None)  # usage errors know the command they were raised for
    path = getattr(ctx, "command_path", None)
    return f"{message} (see '{path} -h')" if path else message


class _Terminated(BaseException):
    """Raised by the SIGTERM handler; a BaseException so that no ``except Exception`` swallows it."""


class _Signals:
    """For one run: SIGTERM raises ``_Terminated``; SIGPIPE is noted (Python ignores it otherwise).

    A disposition someone chose on purpose (SIGTERM ignored under ``nohup``-like parents) is kept.
    Outside the main thread (where handlers cannot be set) nothing changes.
    """

    def __init__(self) -> None:
        self.pipe_broken = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                self._previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._terminate)
            if signal.getsignal(signal.SIGPIPE) is signal.SIG_IGN:
                self._previous[signal.SIGPIPE] = signal.signal(signal.SIGPIPE, self._note_pipe)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _terminate(self, signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    def _note_pipe(self, signum: int, frame: FrameType | None) -> None:
        self.pipe_broken = True


def _said(message: str, status: int) -> int:
    _say_quietly(message)
    return status


def _say_quietly(message: str) -> None:
    """One line on stderr, unless stderr is gone too."""
    with contextlib.suppress(OSError):
        typer.echo(message, err=True)


def _silence_closed_streams() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet.

    Text that could not be written is dropped, as a reader that stopped reading asks.
    """
    try:
        fileno = sys.stdout.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return  # not a real file (a test's capture): nothing will be flushed into a pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)


__all__ = ["app", "main"]
