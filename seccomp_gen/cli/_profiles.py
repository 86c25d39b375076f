"""CLI commands on profiles and states already written: check, diff, merge, apply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seccomp_gen.cli._common import ContainerOption, PodOption, say_findings, say_lines, split_values
from seccomp_gen.cli._emit import (
    EXIT_STRICT,
    ArchOption,
    BaseOption,
    DefaultActionChoice,
    DefaultActionOption,
    EnosysOption,
    ErrnoOption,
    FormatChoice,
    FormatOption,
    ImageOption,
    LogDenialsOption,
    NameOption,
    OutputOption,
    ProfilePathOption,
    ProfilesDirOption,
    SpoVersionOption,
    StrictOption,
    build_options,
    finish,
    format_of,
    observations_of,
    render_options_of,
    report_build,
    say_runtime_limits,
)
from seccomp_gen.errors import ProfileError

if TYPE_CHECKING:
    from seccomp_gen.observations import Observation
    from seccomp_gen.profile import Profile

EXIT_DIFFERENT = 1


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("check")(check)
    app.command("diff")(diff)
    app.command("merge")(merge)
    app.command("apply")(apply)


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
    say_findings(loaded.findings)
    say_findings(validate(loaded.profile))
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
    warnings = say_findings(read.findings) + say_findings(validate(read.profile))
    warnings += say_lines([f"warning: {w}" for w in size_warnings(render(read.profile, Format.OCI))])
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
        observations, losses = observations_of(path)
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

    scope = (split_values(container), split_values(pod))
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
    from seccomp_gen.profile import build_profile

    loaded = [_load(path, split_values(container), split_values(pod)) for path in dict.fromkeys(inputs)]
    states = [item.observations for item in loaded if item.observations is not None]
    profiles = [item.profile for item in loaded if item.profile is not None]
    if output is not None and output.suffix == ".db":
        if profiles:
            raise ProfileError("only states merge into a state (.db); profiles merge into a profile")
        return _write_state(merge_observations(*states), output)
    warnings = say_lines([line for item in loaded for line in item.losses])
    warnings += say_runtime_limits(log_denials=log_denials)
    observed: frozenset[str] = frozenset()
    if states:
        options = build_options(arch, default_action, errno, enosys, base, log_denials=log_denials)
        build = build_profile(merge_observations(*states), options)
        warnings += report_build(build)
        profiles.append(build.profile)
        observed = frozenset(name for _, name in build.counts)
    merged = merge_profiles(profiles)
    render_options = render_options_of(name, profile_path, profiles_dir, image, spo_version)
    return finish(
        merged,
        format_of(fmt),
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
