"""Put a profile into an OCI bundle's ``config.json`` as ``linux.seccomp``: ``seccomp-gen apply``.

The config is read as JSON, its ``linux.seccomp`` replaced by the profile's OCI object (any other
field is kept as it was, in its order), and the file rewritten atomically (``seccomp_gen.output``:
a temporary file beside it, renamed over it, its mode kept). What is not an OCI runtime config — no
``ociVersion``, not an object — is refused, and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seccomp_gen.errors import ProfileError
from seccomp_gen.profile import Profile

CONFIG = "config.json"
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def config_path(target: Path) -> Path:
    """A bundle directory's ``config.json``, or ``target`` itself when it is a file."""
    return target / CONFIG if target.is_dir() else target


def apply_profile(profile: Profile, target: Path) -> Path:
    """Write ``profile`` into the OCI config at ``target`` (a bundle or its config.json); its path."""
    from seccomp_gen.output import write_output
    from seccomp_gen.render import Format, render

    path = config_path(target)
    config = read_config(path)
    seccomp = json.loads(render(profile, Format.OCI))
    linux = config.setdefault("linux", {})
    if not isinstance(linux, dict):
        raise ProfileError(f"{str(path)!r}: linux is not an object: not an OCI runtime config")
    linux["seccomp"] = seccomp
    write_output(path, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return path


def read_config(path: Path) -> dict[str, Any]:
    """An OCI runtime config as a dict; ``ProfileError`` (one line) for anything else."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ProfileError(
            f"{str(path)!r}: no such file (give a bundle directory or its config.json)"
        ) from None
    except OSError as exc:
        raise ProfileError(f"{str(path)!r}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ProfileError(
            f"{str(path)!r}: larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB: not an OCI config"
        )
    try:
        config = json.loads(data)
    except (ValueError, RecursionError):
        raise ProfileError(f"{str(path)!r}: not JSON: not an OCI runtime config") from None
    if not isinstance(config, dict) or "ociVersion" not in config:
        raise ProfileError(f"{str(path)!r}: no ociVersion: not an OCI runtime config")
    return config


__all__ = ["CONFIG", "apply_profile", "config_path", "read_config"]
