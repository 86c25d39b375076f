"""Every command in examples/README.md runs, and the files it writes are the committed ones.

Each ```console block is run as one ``sh -e`` script made of its ``$ `` lines, in a temp directory
holding a copy of ``examples/``, with the test environment's ``bin`` first on PATH (``seccomp-gen``,
``python3``) and the repository on PYTHONPATH (``python3 -m tests.e2e.bundle``). Blocks marked
``console root`` need root, runc, busybox and the kernel log; they run in order, after the plain
blocks, in the same directory. ```text blocks (the cluster commands) are not run.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.realpath import need_kmsg, need_program

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "examples" / "README.md"
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Block:
    """A console block: its commands, whether it needs root, and its first line in the README."""

    commands: tuple[str, ...]
    root: bool
    line: int


def console_blocks(text: str) -> list[Block]:
    """The README's ```console blocks, in order."""
    blocks = []
    for match in FENCE.finditer(text):
        info = match["info"].split()
        if not info or info[0] != "console":
            continue
        commands = tuple(line[2:] for line in match["body"].splitlines() if line.startswith("$ "))
        blocks.append(Block(commands, "root" in info[1:], text.count("\n", 0, match.start()) + 1))
    return blocks


def fenced_languages(text: str) -> set[str]:
    """Every fence's info string (``console``, ``console root``, ``text``)."""
    return {match["info"].strip() for match in FENCE.finditer(text)}


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    env.pop("SECCOMP_GEN_STATE", None)
    return env


def _run_block(block: Block, cwd: Path) -> None:
    """Run the block's commands as one script; whatever it left in the background is stopped after."""
    script = "set -e\n" + "\n".join(block.commands) + "\n"
    proc = subprocess.Popen(
        ["sh", "-c", script],
        cwd=cwd,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=240)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    assert proc.returncode == 0, f"README block at line {block.line} failed:\n{script}\n{out}\n{err}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def test_readme_has_blocks_of_every_kind() -> None:
    text = README.read_text()
    assert fenced_languages(text) == {"console", "console root", "text"}
    assert any(not b.root for b in console_blocks(text))
    assert any(b.root for b in console_blocks(text))


def test_cluster_commands_are_never_in_console_blocks() -> None:
    for block in console_blocks(README.read_text()):
        for command in block.commands:
            assert not command.startswith(("kubectl", "kind ")), command


def test_plain_blocks_run_and_reproduce_the_committed_files(workdir: Path) -> None:
    for block in console_blocks(README.read_text()):
        if not block.root:
            _run_block(block, workdir)
    compared = filecmp.dircmp(ROOT / "examples", workdir / "examples")
    changed = _changed(compared)
    assert changed == [], f"regenerate these examples (run the README blocks from the repo root): {changed}"


def _changed(compared: filecmp.dircmp[str]) -> list[str]:
    found = [str(Path(compared.left) / name) for name in compared.diff_files + compared.left_only]
    for sub in compared.subdirs.values():
        found += _changed(sub)
    return found


@pytest.mark.realpath
def test_root_blocks_run(workdir: Path) -> None:
    need_kmsg()
    need_program("runc")
    need_program("busybox")
    from seccomp_gen import kernel

    saved = kernel.rate_limit()
    try:
        for block in console_blocks(README.read_text()):
            if block.root:
                _run_block(block, workdir)
    finally:
        if saved is not None:
            kernel.set_rate_limit(saved)
        for name in (
            "audit-demo-1",
            "audit-demo-2",
            "audit-demo-3",
            "fine-demo",
            "violation-demo",
            "no-socket-demo",
        ):
            subprocess.run(["runc", "delete", "--force", name], capture_output=True, check=False)


POD_PROFILES = {
    "audit-pod": ("Localhost", "profiles/audit.json"),
    "violation-pod": ("Localhost", "profiles/violation.json"),
    "fine-pod": ("Localhost", "profiles/fine-grained.json"),
    "default-pod": ("RuntimeDefault", None),
}


def test_pods_are_the_tutorials_four_and_their_profiles_load_onto_the_kind_node() -> None:
    import yaml

    from seccomp_gen.profile_read import load_profile

    kind = yaml.safe_load((ROOT / "examples" / "emitted" / "kind.yaml").read_text())
    assert (kind["apiVersion"], kind["kind"]) == ("kind.x-k8s.io/v1alpha4", "Cluster")
    mounts = {m["containerPath"]: m["hostPath"] for node in kind["nodes"] for m in node["extraMounts"]}
    # kubelet resolves localhostProfile under /var/lib/kubelet/seccomp; kind mounts ./profiles below it.
    host_dir = mounts["/var/lib/kubelet/seccomp/profiles"]
    assert host_dir == "./profiles"
    found = {}
    for path in sorted((ROOT / "examples" / "pods").glob("*.yaml")):
        pod = yaml.safe_load(path.read_text())
        assert (pod["apiVersion"], pod["kind"]) == ("v1", "Pod")
        seccomp = pod["spec"]["securityContext"]["seccompProfile"]
        found[pod["metadata"]["name"]] = (seccomp["type"], seccomp.get("localhostProfile"))
        assert path.stem == pod["metadata"]["name"]
    assert found == POD_PROFILES
    # `cp examples/profiles/*.json profiles/` (the README's cluster step) puts each one where its Pod looks.
    defaults = {}
    for _, localhost in POD_PROFILES.values():
        if localhost is not None:
            profile = ROOT / "examples" / localhost
            defaults[profile.stem] = load_profile(profile).profile.default_action.kind.name
    assert defaults == {"audit": "LOG", "violation": "ERRNO", "fine-grained": "ERRNO"}
