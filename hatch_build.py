"""Build hook: compile the parser's optional C accelerator, ``seccomp_gen/_accel.c``.

Needs a C compiler and the Python headers (Debian: ``gcc python3-dev``). Without them the package is
built without the accelerator, with a warning: ``seccomp_gen._fastpath`` then runs its pure-Python
loops (the reference; same results, several times slower), and ``seccomp-gen doctor`` says so.
``SECCOMP_GEN_PURE_PYTHON=1`` at build time skips the compiler on purpose.

A wheel gets the module as ``seccomp_gen/_accel<EXT_SUFFIX>`` (and a platform tag); an editable
install gets it beside the source, where the import finds it (git ignores ``*.so``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("seccomp_gen") / "_accel.c"
PURE_PYTHON_ENV = "SECCOMP_GEN_PURE_PYTHON"  # seccomp_gen.accel's (the package is not importable here)


def compile_command(source: Path, target: Path) -> list[str]:
    """The compiler line for the extension, from this interpreter's own build configuration."""
    compiler = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    paths = sysconfig.get_paths()
    includes = sorted({paths["include"], paths["platinclude"]})
    return [
        *shlex.split(compiler),
        "-O2",
        "-fPIC",
        "-shared",
        "-Wall",
        *(f"-I{include}" for include in includes),
        str(source),
        "-o",
        str(target),
    ]


class AcceleratorHook(BuildHookInterface):  # type: ignore[type-arg]  # hatchling ships no type arguments
    """Compiles ``_accel.c`` for the wheel and for editable installs."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
            self.app.display_info(f"{PURE_PYTHON_ENV} is set: building without the C accelerator")
            return
        root = Path(self.root)
        name = "_accel" + str(sysconfig.get_config_var("EXT_SUFFIX") or ".so")
        if version == "editable":
            target = root / "seccomp_gen" / name
        else:
            self._workdir = tempfile.mkdtemp(prefix="seccomp-gen-accel-")
            target = Path(self._workdir) / name
        command = compile_command(root / SOURCE, target)
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as error:
            self._without(f"no C compiler ({error.strerror}: {command[0]})")
            return
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            self._without(f"compiling {SOURCE} failed: {last}")
            return
        if version != "editable":
            build_data["force_include"][str(target)] = f"seccomp_gen/{name}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        del version, build_data, artifact_path
        workdir = getattr(self, "_workdir", None)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def _without(self, why: str) -> None:
        self.app.display_warning(
            f"seccomp-gen: {why}; building without the C accelerator (the parser runs in pure Python, "
            "several times slower). Debian: apt-get install gcc python3-dev, then install again."
        )
