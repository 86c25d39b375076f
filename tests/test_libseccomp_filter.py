"""One filter builder: what ``check`` compiles is what ``record``/``run`` load (issue 18 item 1).

Before, ``lint`` and ``_exec_under_filter`` each built their own filter: they added and removed
architectures in a different order and disagreed on Docker's conditional rules, so ``check`` could
pass a filter other than the one ``run`` loads. Both now call ``seccomp_gen.libseccomp.build_filter``;
these tests compare the BPF the two paths produce for every profile the project ships or emits.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seccomp_gen import _exec_under_filter, libseccomp
from seccomp_gen.cli import main
from seccomp_gen.lint import compile_profile
from seccomp_gen.profile_read import load_profile

REPO = Path(__file__).resolve().parent.parent
SHIPPED = [
    *sorted((REPO / "examples" / "profiles").glob("*.json")),
    REPO / "examples" / "emitted" / "busybox-http.oci.json",
]


def _emitted(tmp_path: Path) -> Iterator[Path]:
    """Profiles emitted from the shipped recording: Docker and OCI, native and multi-ABI."""
    state = tmp_path / "state.db"
    assert (
        main(["learn", "--state", str(state), str(REPO / "examples" / "recording" / "busybox-http.kmsg")])
        == 0
    )
    for fmt, arches in [("docker", []), ("oci", []), ("docker", ["--arch", "x86_64", "--arch", "i386"])]:
        out = tmp_path / f"{fmt}-{len(arches)}.json"
        argv = ["emit", "--state", str(state), "--format", fmt, *arches, "--output", str(out)]
        assert main(argv) == 0
        yield out


def _checked_filters(profile: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every filter ``check``'s compilation builds for ``profile`` (per ABI, then all together)."""
    built: list[Any] = []
    real = libseccomp.build_filter

    def recording(*args: Any, **kwargs: Any) -> Any:
        built.append(real(*args, **kwargs))
        return built[-1]

    with monkeypatch.context() as patch:
        patch.setattr(libseccomp, "build_filter", recording)
        compile_profile(profile)
    return built


def _run_filter(path: Path) -> Any:
    """The filter ``run`` loads for the profile at ``path`` (denials not logged: the BPF is the same)."""
    args = argparse.Namespace(log=False, profile=path, no_log_denials=True)
    return _exec_under_filter._build_filter(args)


def test_check_compiles_the_filter_run_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [*SHIPPED, *_emitted(tmp_path)]
    assert len(paths) >= 7
    for path in paths:
        profile = load_profile(path).profile
        checked = _checked_filters(profile, monkeypatch)
        assert checked, f"check built no filter for {path}"
        together = checked[-1]  # the one over every architecture the profile lists
        run_bpf = libseccomp.export_bpf(_run_filter(path))
        assert libseccomp.export_bpf(together) == run_bpf, f"check and run differ for {path.name}"


def test_conditional_rules_are_in_neither(tmp_path: Path) -> None:
    """Docker's ``includes``/``excludes`` rules only Docker applies: runc, and so check, leave them out."""
    path = tmp_path / "conditional.json"
    rules = [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"]}},
    ]
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "architectures": [], "syscalls": rules}))
    profile = load_profile(path).profile
    text = libseccomp.export_pfc(libseccomp.build_filter(profile))
    assert '"read"' in text
    assert '"ptrace"' not in text
    assert libseccomp.export_bpf(libseccomp.build_filter(profile)) == libseccomp.export_bpf(_run_filter(path))


def test_only_the_libseccomp_module_imports_the_binding() -> None:
    """``git grep pyseccomp seccomp_gen`` hits one module: every filter goes through it."""
    holders = sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "seccomp_gen").rglob("*.py")
        if libseccomp.BINDING in p.read_text(encoding="utf-8")
    )
    assert holders == ["seccomp_gen/libseccomp.py"]
