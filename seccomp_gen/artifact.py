"""A profile as an OCI artifact in an image layout directory: ``emit --format oci-artifact -o DIR``.

The runtime format Kubernetes' KEP-6061, CRI-O and the Security Profiles Operator use: a manifest whose
config and ``artifactType`` carry the media type ``application/vnd.cncf.seccomp-profile.config.v1+json``
(the config blob is ``{}``), and exactly one layer, the profile as OCI runtime-spec JSON
(``application/json``, titled ``seccomp.json``). The directory is an OCI image layout (``oci-layout``,
``index.json``, ``blobs/sha256/``) that registry tools copy as it is (``oras cp --from-oci-layout``,
``skopeo copy oci:DIR:NAME docker://...``). Runtimes refuse an artifact over 1 MiB and, by default, a
profile of more than 128 ``syscalls`` entries; ``check`` warns at both.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from seccomp_gen.errors import OutputError, ProfileError

SECCOMP_MEDIA_TYPE = "application/vnd.cncf.seccomp-profile.config.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
LAYER_MEDIA_TYPE = "application/json"
TITLE = "org.opencontainers.image.title"
REF_NAME = "org.opencontainers.image.ref.name"
MAX_ARTIFACT_BYTES = 1024 * 1024
MAX_SYSCALL_ENTRIES = 128


def write_layout(profile_json: str, directory: Path, name: str) -> Path:
    """Write the layout for ``profile_json`` (the OCI object's text) into ``directory``, tagged ``name``.

    The directory must not exist or be empty: a layout is written whole, never merged into another.
    """
    if directory.exists():
        raise OutputError(f"{str(directory)!r} exists: a layout is written whole into a new directory")
    layer = profile_json.encode()
    if len(layer) > MAX_ARTIFACT_BYTES:
        raise ProfileError(f"the profile is {len(layer)} bytes: runtimes refuse artifacts over 1 MiB")
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    config = _blob(blobs, b"{}")
    layer_desc = {
        **_blob(blobs, layer),
        "mediaType": LAYER_MEDIA_TYPE,
        "annotations": {TITLE: "seccomp.json"},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": SECCOMP_MEDIA_TYPE,
        "config": {**config, "mediaType": SECCOMP_MEDIA_TYPE},
        "layers": [layer_desc],
    }
    manifest_desc = _blob(blobs, _json(manifest))
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [{**manifest_desc, "mediaType": MANIFEST_MEDIA_TYPE, "annotations": {REF_NAME: name}}],
    }
    (directory / "oci-layout").write_bytes(_json({"imageLayoutVersion": "1.0.0"}))
    (directory / "index.json").write_bytes(_json(index))
    return directory


def is_layout(path: Path) -> bool:
    """A directory holding an OCI image layout."""
    return path.is_dir() and (path / "oci-layout").is_file() and (path / "index.json").is_file()


def read_layout(directory: Path) -> str:
    """The seccomp profile JSON of the (one) seccomp artifact in a layout; ``ProfileError`` otherwise."""
    try:
        index = json.loads((directory / "index.json").read_bytes())
        for entry in index.get("manifests", []):
            manifest = json.loads(_read_blob(directory, entry["digest"]))
            if manifest.get("artifactType") == SECCOMP_MEDIA_TYPE or (
                manifest.get("config", {}).get("mediaType") == SECCOMP_MEDIA_TYPE
            ):
                layers = manifest.get("layers", [])
                if len(layers) != 1:
                    raise ProfileError(
                        f"{str(directory)!r}: a seccomp artifact has exactly one layer, not {len(layers)}"
                    )
                return _read_blob(directory, layers[0]["digest"]).decode()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProfileError(f"{str(directory)!r}: not a readable OCI layout ({type(exc).__name__})") from None
    raise ProfileError(f"{str(directory)!r}: no artifact of media type {SECCOMP_MEDIA_TYPE} in the layout")


def size_warnings(profile_json: str) -> list[str]:
    """What runtimes would refuse in a KEP-6061 artifact of this profile."""
    warnings = []
    size = len(profile_json.encode())
    if size > MAX_ARTIFACT_BYTES:
        warnings.append(f"the profile is {size} bytes: runtimes refuse OCI artifacts over 1 MiB")
    try:
        entries = len(json.loads(profile_json).get("syscalls") or [])
    except (ValueError, AttributeError):
        entries = 0
    if entries > MAX_SYSCALL_ENTRIES:
        warnings.append(
            f"{entries} syscalls entries: runtimes refuse OCI artifact profiles of more than "
            f"{MAX_SYSCALL_ENTRIES} by default"
        )
    return warnings


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2) + "\n").encode()


def _blob(blobs: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    path = blobs / digest
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _read_blob(directory: Path, digest: str) -> bytes:
    algorithm, _, value = digest.partition(":")
    if algorithm != "sha256" or len(value) != 64 or not all(c in "0123456789abcdef" for c in value):
        raise ValueError(digest)
    data = (directory / "blobs" / "sha256" / value).read_bytes()
    if hashlib.sha256(data).hexdigest() != value:
        raise ValueError(f"digest mismatch for {digest}")
    return data


__all__ = ["SECCOMP_MEDIA_TYPE", "is_layout", "read_layout", "size_warnings", "write_layout"]
