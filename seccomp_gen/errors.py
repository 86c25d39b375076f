"""Errors are part of the interface: one base class, a named subclass per failure.

Every message quotes the offending input (file, line, text) so the CLI can print it on
one line as ``error: <message>`` and exit non-zero.
"""

from __future__ import annotations


class SeccompGenError(Exception):
    """Base class of every error seccomp-gen raises on purpose."""


class UnknownAbiError(SeccompGenError):
    """An ABI spelling or AUDIT_ARCH value that no table covers."""


class UnknownSyscallError(SeccompGenError):
    """A syscall number or name that the ABI's table does not have."""


class RecordParseError(SeccompGenError):
    """Input that claims a format (``--format``) but does not have it."""


class SourceError(SeccompGenError):
    """A source of lines cannot be read: missing file, permission, no journalctl, ..."""


class StateError(SeccompGenError):
    """The learned-state database cannot be opened, migrated or written."""


class ProfileError(SeccompGenError):
    """A profile cannot be built, read, compiled or written."""


class SandboxError(SeccompGenError):
    """A command cannot be run under a filter (record/run)."""


class OutputError(SeccompGenError):
    """The place named with ``-o`` cannot take the result (a directory, no permission, a full disk)."""
