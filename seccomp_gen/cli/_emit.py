"""CLI commands: emit, check, diff, merge (issue 5)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seccomp_gen.cli._common import ContainerOption, PodOption, StateOption, state_path
from seccomp_gen.errors import ProfileError, SeccompGenError

if TYPE_CHECKING:
    from seccomp_gen.actions import Action
    from seccomp_gen.coverage import Coverage
    from seccomp_gen.observations import LossRow, Observation
    from seccomp_gen.profile import Build, Finding, Profile
    from seccomp_gen.render import Format, RenderOptions

EXIT_DIFFERENT = 1
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
    app.command("check")(check)
    app.command("diff")(diff)
    app.command("merge")(merge)
    app.command("apply")(apply)


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


def _split(values: Iterable[str] | None) -> tuple[str, ...]:
    """``--allow a,b --allow c`` → ``("a", "b", "c")``."""
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())


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

    names = _split(values) if values is not None else DEFAULT_ENOSYS
    return () if any(name.lower() == "none" for name in names) else names


def _say(findings: Iterable[Finding]) -> int:
    """Print findings on stderr; return how many were warnings."""
    from seccomp_gen.profile import Severity

    warnings = 0
    for finding in findings:
        typer.echo(str(finding), err=True)
        warnings += finding.severity is Severity.WARNING
    return warnings


def _write(text: str, output: Path | None) -> None:
    from seccomp_gen.output import is_stdout, write_output

    if output is None or is_stdout(output):
        typer.echo(text, nl=False)
    else:
        write_output(output, text)


def _render_options(
    name: str, profile_path: str | None, profiles_dir: str, image: str, spo_version: str = "v1"
) -> RenderOptions:
    from seccomp_gen.render import RenderOptions

    return RenderOptions(
        name=name, profile_path=profile_path, profiles_dir=profiles_dir, image=image, spo_version=spo_version
    )


def _format(choice: FormatChoice) -> Format:
    from seccomp_gen.render import Format

    return Format(choice.value)


def _observations(path: Path) -> tuple[list[Observation], list[str]]:
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


def _say_runtime_limits(*, log_denials: bool) -> int:
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
    return _say_lines(lines)


def _say_lines(lines: Sequence[str]) -> int:
    """Print each warning line on stderr; return how many (``--strict`` counts them)."""
    for line in lines:
        typer.echo(line, err=True)
    return len(lines)


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


def _report_build(build: Build) -> int:
    warnings = _say(build.findings)
    if build.unknown:
        spelled = ", ".join(f"{u.abi} {u.number} (x{u.count})" for u in build.unknown)
        typer.echo(f"note: numbers no table knows, reported and not emitted: {spelled}", err=True)
    return warnings


def _finish(
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

    warnings += _say(validate(profile, on_purpose, observed))
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
    from seccomp_gen.profile import BuildOptions, build_profile, canonical_syscall

    if into is not None:
        from seccomp_gen.bundle import config_path, read_config

        if output is not None:
            raise ProfileError("--into and --output both say where to write: give one")
        read_config(config_path(into))  # a wrong target is refused before any work
    base_name, versions = _base(base)
    options = BuildOptions(
        abis=_split(arch),
        default_action=_default_action(default_action, errno),
        enosys=_enosys(enosys),
        base=base_name,
        runtime_versions=versions,
        allow=_split(allow),
        log_denials=log_denials,
        filter=ObservationFilter(
            comm=_split(comm),
            exe=_split(exe),
            action=_split(action),
            trusted_only=trusted_only,
            container=_split(container),
            pod=_split(pod),
        ),
    )
    observations, losses = _observations(state_path(state))
    build = build_profile(observations, options)
    warnings = _report_build(build) + _say_lines(losses) + _say_runtime_limits(log_denials=log_denials)
    render_options = _render_options(name, profile_path, profiles_dir, image, spo_version)
    return _finish(
        build.profile,
        _format(fmt),
        render_options,
        output=output,
        strict=strict,
        warnings=warnings,
        on_purpose=frozenset(canonical_syscall(name) for name in options.allow),
        observed=frozenset(name for _, name in build.counts),
        into=into,
    )


# --- apply ----------------------------------------------------------------------------------------


def apply(
    profile: Annotated[
        Path,
        typer.Argument(help="A profile in any format emit writes (JSON, SPO YAML, drop-in).", readable=False),
    ],
    target: Annotated[
        Path, typer.Argument(help="An OCI bundle directory, or its config.json.", readable=False)
    ],
) -> int:
    """Put a profile into an OCI bundle's config.json as linux.seccomp, atomically.

    Every other field of the config is kept; a file that is not an OCI runtime config (no
    ociVersion) is refused and left as it was. The profile is compiled and reviewed first.

    Examples:

        seccomp-gen apply profile.json ./mybundle

        seccomp-gen emit --arch x86_64 --into ./mybundle
    """
    from seccomp_gen.bundle import apply_profile, config_path, read_config
    from seccomp_gen.lint import validate
    from seccomp_gen.profile_read import load_profile

    read_config(config_path(target))  # refuse a wrong target before saying anything about the profile
    loaded = load_profile(profile)
    _say(loaded.findings)
    _say(validate(loaded.profile))
    typer.echo(f"wrote linux.seccomp of {apply_profile(loaded.profile, target)}", err=True)
    return 0


# --- check ----------------------------------------------------------------------------------------


def check(
    profile: Annotated[
        Path, typer.Argument(help="Docker/Kubernetes profile JSON or OCI config.json.", readable=False)
    ],
    strict: StrictOption = False,
) -> int:
    """Compile a profile with libseccomp for each architecture and review it.

    Reads every format emit writes: Docker/Kubernetes JSON, OCI config.json (or its linux.seccomp),
    SPO YAML, the systemd drop-in, an OCI artifact layout directory. Warns where runtimes would refuse
    it as an OCI artifact (over 1 MiB, over 128 syscalls entries). Exit 0 when it compiles, 1 with
    --strict and warnings, 2 when it is broken.

    Examples:

        seccomp-gen check profile.json

        seccomp-gen check --strict bundle/config.json
    """
    from seccomp_gen import libseccomp
    from seccomp_gen.artifact import size_warnings
    from seccomp_gen.lint import validate
    from seccomp_gen.profile_read import display_path, load_profile
    from seccomp_gen.render import Format, render

    read = load_profile(profile)
    source = display_path(profile)
    warnings = _say(read.findings) + _say(validate(read.profile))
    warnings += _say_lines([f"warning: {w}" for w in size_warnings(render(read.profile, Format.OCI))])
    arches = ", ".join(read.profile.architectures)
    typer.echo(
        f"{source}: compiles for {arches} with libseccomp {libseccomp.version_text()}; {warnings} warning(s)",
        err=True,
    )
    return EXIT_STRICT if strict and warnings else 0


# --- diff -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Loaded:
    """One diff/merge input: a state's observations or a profile."""

    path: Path
    observations: list[Observation] | None = None
    profile: Profile | None = None
    losses: tuple[str, ...] = ()


def _load(path: Path, container: Sequence[str] = (), pod: Sequence[str] = ()) -> _Loaded:
    """A state (its observations of ``container``/``pod`` when given) or a profile."""
    from seccomp_gen.observations import ObservationFilter
    from seccomp_gen.profile_read import load_profile

    if _is_state(path):
        observations, losses = _observations(path)
        if container or pod:
            scope = ObservationFilter(container=tuple(container), pod=tuple(pod))
            observations = [obs for obs in observations if scope.keeps(obs)]
            if not observations:
                asked = ", ".join((*container, *(f"pod {p}" for p in pod)))
                raise ProfileError(
                    f"{str(path)!r} has no observation of {asked} (seccomp-gen status lists them)"
                )
        return _Loaded(path, observations=observations, losses=tuple(losses))
    return _Loaded(path, profile=load_profile(path).profile)


def _is_state(path: Path) -> bool:
    """A regular file that starts like SQLite. A pipe (``<(...)``) is never opened here: that would eat it."""
    from seccomp_gen.profile_read import SQLITE_MAGIC

    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False  # reading it as a profile says why


def _allowlist(loaded: _Loaded) -> dict[str, frozenset[str]]:
    from seccomp_gen.compare import allowed_by_abi, observed_by_abi

    if loaded.profile is not None:
        return allowed_by_abi(loaded.profile)
    return observed_by_abi(loaded.observations or [])


def _default_of(loaded: _Loaded) -> str | None:
    return None if loaded.profile is None else str(loaded.profile.default_action)


def diff(
    a: Annotated[Path, typer.Argument(help="A profile (JSON) or a state database.", readable=False)],
    b: Annotated[Path, typer.Argument(help="Another profile or state.", readable=False)],
    container: ContainerOption = None,
    pod: PodOption = None,
) -> int:
    """Show what B allows that A does not (+) and the reverse (-), per ABI.

    States count as the names observed on each ABI; profiles as the names their rules let through
    on each listed architecture. Exit 0 when the same, 1 when different.

    Examples:

        seccomp-gen diff old.json new.json

        seccomp-gen diff profile.json ~/.local/state/seccomp-gen/state.db

        seccomp-gen diff web-1.json state.db --container web-1
    """
    from seccomp_gen.compare import diff_allowlists

    scope = (_split(container), _split(pod))
    left, right = _load(a, *scope), _load(b, *scope)
    da, db = _default_of(left), _default_of(right)
    defaults = (da, db) if da is not None and db is not None else None
    result = diff_allowlists(_allowlist(left), _allowlist(right), defaults)
    if result.same:
        typer.echo(f"same: {a} and {b} allow the same syscalls")
        return 0
    typer.echo(f"--- {a}\n+++ {b}")
    if result.default_actions is not None:
        typer.echo(f"default action: {result.default_actions[0]} -> {result.default_actions[1]}")
    for entry in result.abis:
        typer.echo(f"{entry.abi}:")
        for name in entry.removed:
            typer.echo(f"  - {name}")
        for name in entry.added:
            typer.echo(f"  + {name}")
    return EXIT_DIFFERENT


# --- merge ----------------------------------------------------------------------------------------


def merge(
    inputs: Annotated[list[Path], typer.Argument(help="Profiles and/or state databases.", readable=False)],
    *,
    output: OutputOption = None,
    fmt: FormatOption = FormatChoice.docker,
    arch: ArchOption = None,
    errno: ErrnoOption = "EPERM",
    default_action: DefaultActionOption = DefaultActionChoice.errno,
    log_denials: LogDenialsOption = False,
    enosys: EnosysOption = None,
    base: BaseOption = "auto",
    container: ContainerOption = None,
    pod: PodOption = None,
    strict: StrictOption = False,
    name: NameOption = "seccomp-gen",
    profile_path: ProfilePathOption = None,
    profiles_dir: ProfilesDirOption = "./profiles",
    image: ImageOption = "busybox",
    spo_version: SpoVersionOption = "v1",
) -> int:
    """Union the allowlists of several hosts or replicas into one profile.

    Profiles must share their default action. States are unioned first (per-syscall counts add
    up), then built into a profile with the emit options given here. When every input is a state
    and --output ends in .db, the merged state itself is written (a new file), counts and all.

    Examples:

        seccomp-gen merge node1.json node2.json node3.json -o fleet.json

        seccomp-gen merge node1.db node2.db -o fleet.db

        seccomp-gen merge node1.db node2.db base.json --arch x86_64 --format oci
    """
    from seccomp_gen.compare import merge_observations, merge_profiles
    from seccomp_gen.profile import BuildOptions, build_profile

    loaded = [_load(path, _split(container), _split(pod)) for path in dict.fromkeys(inputs)]
    states = [item.observations for item in loaded if item.observations is not None]
    profiles = [item.profile for item in loaded if item.profile is not None]
    if output is not None and output.suffix == ".db":
        if profiles:
            raise ProfileError("only states merge into a state (.db); profiles merge into a profile")
        return _write_state(merge_observations(*states), output)
    warnings = _say_lines([line for item in loaded for line in item.losses])
    warnings += _say_runtime_limits(log_denials=log_denials)
    observed: frozenset[str] = frozenset()
    if states:
        base_name, versions = _base(base)
        options = BuildOptions(
            abis=_split(arch),
            default_action=_default_action(default_action, errno),
            enosys=_enosys(enosys),
            base=base_name,
            runtime_versions=versions,
            log_denials=log_denials,
        )
        build = build_profile(merge_observations(*states), options)
        warnings += _report_build(build)
        profiles.append(build.profile)
        observed = frozenset(name for _, name in build.counts)
    merged = merge_profiles(profiles)
    render_options = _render_options(name, profile_path, profiles_dir, image, spo_version)
    return _finish(
        merged,
        _format(fmt),
        render_options,
        output=output,
        strict=strict,
        warnings=warnings,
        observed=observed,
    )


def _write_state(observations: Sequence[Observation], output: Path) -> int:
    from seccomp_gen.observations import Aggregate, Batch
    from seccomp_gen.store import Store

    if output.exists():
        raise ProfileError(f"{str(output)!r} exists: merge writes a new state (counts would add up twice)")
    batch = Batch()
    for obs in observations:
        batch.aggregates[obs.key] = Aggregate(
            obs.name, obs.count, obs.first_seen, obs.last_seen, obs.sample_pid, obs.pod
        )
    store = Store.open(output)
    try:
        result = store.write(batch)
    finally:
        store.close()
    typer.echo(f"wrote {output}: {len(observations)} observations, {result.records} records", err=True)
    return 0
