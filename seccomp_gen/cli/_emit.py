"""CLI command emit, and the options and build steps it shares with merge (``cli._profiles``)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seccomp_gen.cli._common import (
    ContainerOption,
    PodOption,
    StateOption,
    say_findings,
    say_lines,
    split_values,
    state_path,
)
from seccomp_gen.errors import ProfileError, SeccompGenError

if TYPE_CHECKING:
    from seccomp_gen.actions import Action
    from seccomp_gen.coverage import Coverage
    from seccomp_gen.observations import LossRow, Observation
    from seccomp_gen.profile import Build, BuildOptions, Profile
    from seccomp_gen.render import Format, RenderOptions

EXIT_STRICT = 1


class FormatChoice(str, enum.Enum):
    """``--format`` values."""

    docker = "docker"
    oci = "oci"
    spo = "spo"
    pod = "pod"
    kind = "kind"
    systemd = "systemd"
    oci_artifact = "oci-artifact"


class DefaultActionChoice(str, enum.Enum):
    """``--default-action`` values."""

    errno = "errno"
    kill_process = "kill-process"
    kill_thread = "kill-thread"
    trap = "trap"
    log = "log"


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("emit")(emit)


# --- shared options -------------------------------------------------------------------------------

ArchOption = Annotated[
    list[str] | None,
    typer.Option(
        "--arch",
        "-a",
        help="ABI to cover (repeatable): x86_64, i386, amd64, arm64, SCMP_ARCH_X86... Default: observed.",
        show_default=False,
    ),
]
FormatOption = Annotated[
    FormatChoice,
    typer.Option(
        "--format",
        "-f",
        help="docker, oci, spo, pod, kind, systemd, or oci-artifact (an OCI layout: -o NEW_DIR).",
    ),
]


def _checked_output(output: Path | None) -> Path | None:
    """Refuse a target that cannot be written before any work is done (and before any note is said)."""
    from seccomp_gen.output import check_output

    if output is not None:
        check_output(output)
    return output


OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write here instead of stdout: a file atomically, a device or FIFO in place; - is stdout.",
        show_default=False,
        callback=_checked_output,
    ),
]
ErrnoOption = Annotated[
    str,
    typer.Option("--errno", help="Errno for denied calls with --default-action errno: EPERM, ENOSYS, 13."),
]
DefaultActionOption = Annotated[
    DefaultActionChoice,
    typer.Option("--default-action", help="What a call outside the allowlist gets."),
]
LogDenialsOption = Annotated[
    bool,
    typer.Option(
        "--log-denials",
        help="Add SECCOMP_FILTER_FLAG_LOG: enforced denials reach the kernel log, to learn from "
        "(needs runc >= 1.2 or crun; runc 1.1 refuses profiles with flags).",
    ),
]
EnosysOption = Annotated[
    list[str] | None,
    typer.Option(
        "--enosys",
        help="Unobserved calls answered with ENOSYS so libc falls back (repeatable or comma-separated; "
        "default clone3, which glibc then replaces by clone; 'none' disables).",
        show_default=False,
    ),
]
BaseOption = Annotated[
    str,
    typer.Option(
        "--base",
        help="Add a container runtime's own needs: auto (the runtime whose init the records show), "
        "runc, crun or none; runc@1.1.5 pins the version (default: the installed one). Sets are "
        "measured per version; an unmeasured one gets the Security Profiles Operator's list.",
    ),
]
AllowOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        help="Allow these names on purpose (repeatable or comma-separated); that Docker's default "
        "limits one is then a note, not a --strict failure.",
        show_default=False,
    ),
]
CommOption = Annotated[
    list[str] | None,
    typer.Option("--comm", help="Only records of this comm (glob, repeatable).", show_default=False),
]
ExeOption = Annotated[
    list[str] | None,
    typer.Option("--exe", help="Only records of this executable (glob, repeatable).", show_default=False),
]
ActionFilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--action",
        help="Only records with this action: LOG, ERRNO, KILL_PROCESS... (repeatable).",
        show_default=False,
    ),
]
TrustedOnlyOption = Annotated[
    bool,
    typer.Option(
        "--trusted-only",
        help="Leave out calls seen only in lines any local user can write (syslog text).",
    ),
]
StrictOption = Annotated[bool, typer.Option("--strict", help="Treat warnings as failure (exit 1).")]
NameOption = Annotated[str, typer.Option("--name", help="Name of the SeccompProfile/Pod (spo, pod, kind).")]
ProfilePathOption = Annotated[
    str | None,
    typer.Option(
        "--profile-path",
        help="Pod localhostProfile, relative to /var/lib/kubelet/seccomp (default profiles/NAME.json).",
        show_default=False,
    ),
]
ProfilesDirOption = Annotated[
    str, typer.Option("--profiles-dir", help="kind: host directory mounted as the kubelet's profiles.")
]
ImageOption = Annotated[str, typer.Option("--image", help="pod: the container image.")]
IntoOption = Annotated[
    Path | None,
    typer.Option(
        "--into",
        help="Write the profile into this OCI bundle's config.json (or that file) as linux.seccomp, "
        "instead of to stdout or -o (as seccomp-gen apply does).",
        show_default=False,
        readable=False,
    ),
]
SpoVersionOption = Annotated[
    str,
    typer.Option(
        "--spo-version",
        help="spo: the SeccompProfile API version: v1 (Security Profiles Operator 1.0 and later, "
        "cluster-scoped) or v1beta1 (older operators).",
    ),
]


def _default_action(choice: DefaultActionChoice, errno: str) -> Action:
    from seccomp_gen.actions import Action, ActionKind, errno_number

    if choice is not DefaultActionChoice.errno:
        kinds = {
            DefaultActionChoice.kill_process: ActionKind.KILL_PROCESS,
            DefaultActionChoice.kill_thread: ActionKind.KILL_THREAD,
            DefaultActionChoice.trap: ActionKind.TRAP,
            DefaultActionChoice.log: ActionKind.LOG,
        }
        return Action(kinds[choice])
    try:
        return Action(ActionKind.ERRNO, errno_number(errno))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--errno") from None


def _enosys(values: list[str] | None) -> tuple[str, ...]:
    from seccomp_gen.profile import DEFAULT_ENOSYS

    names = split_values(values) if values is not None else DEFAULT_ENOSYS
    return () if any(name.lower() == "none" for name in names) else names


def _write(text: str, output: Path | None) -> None:
    from seccomp_gen.output import is_stdout, write_output

    if output is None or is_stdout(output):
        typer.echo(text, nl=False)
    else:
        write_output(output, text)


def render_options_of(
    name: str, profile_path: str | None, profiles_dir: str, image: str, spo_version: str = "v1"
) -> RenderOptions:
    from seccomp_gen.render import RenderOptions

    return RenderOptions(
        name=name, profile_path=profile_path, profiles_dir=profiles_dir, image=image, spo_version=spo_version
    )


def format_of(choice: FormatChoice) -> Format:
    from seccomp_gen.render import Format

    return Format(choice.value)


def observations_of(path: Path) -> tuple[list[Observation], list[str]]:
    """The state's observations, and a warning for each of its losses and for unfinished learning
    (``--strict`` counts them)."""
    from seccomp_gen.store import Store
    from seccomp_gen.summary import coverage_of

    if not path.exists():
        raise SeccompGenError(f"no state at {str(path)!r}: run seccomp-gen learn first, or pass --state")
    store = Store.open(path, readonly=True)
    try:
        warnings = loss_warnings(str(path), store.losses()) + coverage_warnings(coverage_of(store))
        return store.observations(), warnings
    finally:
        store.close()


def coverage_warnings(coverage: Coverage) -> list[str]:
    """One warning when the counts say learning is not done, with why and what to do."""
    reasons = coverage.not_done()
    if not reasons or not coverage.records:
        return []
    return [
        "warning: learning may not be done: " + "; ".join(reasons) + ". Run the workload more (every "
        "path it has) while learning; seccomp-gen status shows the estimate per process"
    ]


def _base(spelled: str) -> tuple[str | None, dict[str, str | None]]:
    """``--base`` as (the base, the runtime versions that pick its set).

    ``runc@1.1.5`` pins the version (the node's, when emitting elsewhere); otherwise the versions
    are those of the runtimes installed here.
    """
    from seccomp_gen.runtimes import BASE_AUTO, installed, runtime_bases

    base, at, version = spelled.partition("@")
    runtimes = sorted(runtime_bases())
    if base not in (BASE_AUTO, "none", *runtimes) or (at and base not in runtimes):
        choices = ", ".join([BASE_AUTO, "none", *runtimes, *(f"{r}@VERSION" for r in runtimes)])
        raise ProfileError(f"--base {spelled!r}: choose one of {choices}")
    if at and not all(part.isdigit() for part in version.split(".")):
        raise ProfileError(f"--base {spelled!r}: a version is numbers and dots, like {base}@1.1.5")
    if base == "none":
        return None, {}
    if version:
        return base, {base: version}
    return base, {r.name: r.version for r in installed(("runc", "crun"))}


def say_runtime_limits(*, log_denials: bool) -> int:
    """A warning per runtime here that would refuse what was asked (runc 1.1 refuses seccomp flags)."""
    if not log_denials:
        return 0
    from seccomp_gen.runtimes import Feature, installed

    lines = [
        f"warning: --log-denials writes seccomp flags, which {r.name} {r.version} here refuses (it needs "
        f"1.2 or later): a container under this profile will not start with it"
        for r in installed(("runc",))
        if r.supports(Feature.FLAGS) is False
    ]
    return say_lines(lines)


def loss_warnings(state: str, losses: Sequence[LossRow]) -> list[str]:
    """One warning per kind and place of loss in ``state``: how many, when, and the fix."""
    from seccomp_gen.events import LossKind
    from seccomp_gen.feedback import LossReport

    lines = []
    for row in losses:
        report = LossReport(LossKind(row.kind), row.records if row.records else None, row.location)
        lines.append(
            f"warning: the profile may miss calls: {report.amount} records were lost ({row.kind}, "
            f"{row.markers} marker(s)) in {row.location}{_when(row.first_seen, row.last_seen)} while "
            f"learning into {state}; {report.advice}"
        )
    return lines


def _when(first: float | None, last: float | None) -> str:
    from datetime import datetime, timezone

    stamps = [
        datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ") for t in (first, last) if t
    ]
    if not stamps:
        return ""
    return f" at {stamps[0]}" if len(set(stamps)) == 1 else f" between {stamps[0]} and {stamps[-1]}"


def build_options(
    arch: list[str] | None,
    default_action: DefaultActionChoice,
    errno: str,
    enosys: list[str] | None,
    base: str,
    *,
    log_denials: bool,
) -> BuildOptions:
    """The build options emit and merge share, from their command-line values."""
    from seccomp_gen.profile import BuildOptions

    base_name, versions = _base(base)
    return BuildOptions(
        abis=split_values(arch),
        default_action=_default_action(default_action, errno),
        enosys=_enosys(enosys),
        base=base_name,
        runtime_versions=versions,
        log_denials=log_denials,
    )


def report_build(build: Build) -> int:
    warnings = say_findings(build.findings)
    if build.unknown:
        spelled = ", ".join(f"{u.abi} {u.number} (x{u.count})" for u in build.unknown)
        typer.echo(f"note: numbers no table knows, reported and not emitted: {spelled}", err=True)
    return warnings


def finish(
    profile: Profile,
    fmt: Format,
    render_options: RenderOptions,
    *,
    output: Path | None,
    strict: bool,
    warnings: int,
    on_purpose: frozenset[str] = frozenset(),
    observed: frozenset[str] = frozenset(),
    into: Path | None = None,
) -> int:
    """Compile and review ``profile``, then write it unless ``--strict`` finds warnings."""
    from seccomp_gen.lint import validate
    from seccomp_gen.render import render

    warnings += say_findings(validate(profile, on_purpose, observed))
    text = render(profile, fmt, render_options)
    if strict and warnings:
        typer.echo(f"error: {warnings} warning(s) and --strict: nothing written", err=True)
        return EXIT_STRICT
    if into is not None:
        from seccomp_gen.bundle import apply_profile

        typer.echo(f"wrote linux.seccomp of {apply_profile(profile, into)}", err=True)
        return 0
    if fmt.value == "oci-artifact":
        from seccomp_gen.artifact import write_layout

        if output is None or str(output) == "-":
            raise ProfileError("--format oci-artifact writes a directory: give it with -o NEW_DIR")
        typer.echo(f"wrote OCI layout {write_layout(text, output, render_options.name)}", err=True)
        return 0
    _write(text, output)
    return 0


# --- emit -----------------------------------------------------------------------------------------


def emit(
    *,
    state: StateOption = None,
    arch: ArchOption = None,
    fmt: FormatOption = FormatChoice.docker,
    output: OutputOption = None,
    errno: ErrnoOption = "EPERM",
    default_action: DefaultActionOption = DefaultActionChoice.errno,
    log_denials: LogDenialsOption = False,
    enosys: EnosysOption = None,
    base: BaseOption = "auto",
    allow: AllowOption = None,
    comm: CommOption = None,
    exe: ExeOption = None,
    action: ActionFilterOption = None,
    trusted_only: TrustedOnlyOption = False,
    container: ContainerOption = None,
    pod: PodOption = None,
    strict: StrictOption = False,
    name: NameOption = "seccomp-gen",
    profile_path: ProfilePathOption = None,
    profiles_dir: ProfilesDirOption = "./profiles",
    image: ImageOption = "busybox",
    spo_version: SpoVersionOption = "v1",
    into: IntoOption = None,
) -> int:
    """Write the minimal seccomp profile that allows what was observed.

    Each record's number is named with its own ABI (i386 102 is socketcall, x86_64 102 getuid).
    Profiles list names, which libseccomp resolves per architecture and skips where a name does
    not exist; a name observed on one listed ABI is allowed on every listed ABI that has it (no
    profile format can scope a name to one architecture), and stderr says which. An unobserved
    clone3 answers ENOSYS (--enosys) so glibc falls back to clone instead of failing.

    Every profile is compiled with libseccomp for each architecture before it is written, and
    reviewed: warnings name each offender (unknown names, aliases, risky calls...).

    Examples:

        seccomp-gen emit --arch x86_64 > profile.json

        seccomp-gen emit --arch x86_64 --arch i386 --format oci -o seccomp.json

        seccomp-gen emit --format spo --name my-app | kubectl apply -f -

        seccomp-gen emit --comm nginx --base runc --strict -o nginx.json
    """
    from seccomp_gen.observations import ObservationFilter
    from seccomp_gen.profile import build_profile, canonical_syscall

    if into is not None:
        from seccomp_gen.bundle import config_path, read_config

        if output is not None:
            raise ProfileError("--into and --output both say where to write: give one")
        read_config(config_path(into))  # a wrong target is refused before any work
    options = replace(
        build_options(arch, default_action, errno, enosys, base, log_denials=log_denials),
        allow=split_values(allow),
        filter=ObservationFilter(
            comm=split_values(comm),
            exe=split_values(exe),
            action=split_values(action),
            trusted_only=trusted_only,
            container=split_values(container),
            pod=split_values(pod),
        ),
    )
    observations, losses = observations_of(state_path(state))
    build = build_profile(observations, options)
    warnings = report_build(build) + say_lines(losses) + say_runtime_limits(log_denials=log_denials)
    render_options = render_options_of(name, profile_path, profiles_dir, image, spo_version)
    return finish(
        build.profile,
        format_of(fmt),
        render_options,
        output=output,
        strict=strict,
        warnings=warnings,
        on_purpose=frozenset(canonical_syscall(name) for name in options.allow),
        observed=frozenset(name for _, name in build.counts),
        into=into,
    )
