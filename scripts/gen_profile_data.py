"""Derive ``seccomp_gen/data/*.json`` from the reference profiles in ``reference/``.

* ``runtime_bases.json`` — the syscalls runc and crun need to start a container, from the Security
  Profiles Operator's ``examples/baseprofile-{runc,crun}.yaml``.
* ``docker_default.json`` — which syscalls Docker's default profile allows unconditionally and, for the
  others, why not (capability, kernel version, argument filter, explicit errno), from
  ``moby-profiles/seccomp/default.json``.

Each output records its source path, the source's git blob hash and the upstream commit named in
``PROVENANCE.md``. ``--check`` exits 1 when the checked-in data differs from what the sources give.

    python scripts/gen_profile_data.py            # regenerate
    python scripts/gen_profile_data.py --check    # CI: fail when stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "seccomp_gen" / "data"
DEFAULT_REFERENCE = ROOT / "reference"

SPO_COMMIT = "544f34a46e09e302c68aab25edb3fecf745cbf80"
MOBY_COMMIT = "3c28324314729dbade8287e868eef6338c42807a"
RUNTIMES = ("runc", "crun")


def git_blob_hash(data: bytes) -> str:
    """The SHA-1 git gives a blob with these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def parse_spo_base(text: str, source: str) -> dict[str, Any]:
    """Read the one-rule ``SeccompProfile`` layout of the SPO base profiles.

    The files are a fixed, simple shape (``metadata.name``, ``spec.architectures``, one ALLOW rule's
    ``names``), so a line reader suffices; anything else is refused rather than guessed.
    """
    name = ""
    arches: list[str] = []
    names: list[str] = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("name:") and not name:
            name = line.split(":", 1)[1].strip()
        elif line in ("architectures:", "names:"):
            section = line[:-1]
        elif line.startswith("- action:"):
            if line != "- action: SCMP_ACT_ALLOW" or names:
                raise SystemExit(f"{source}: unexpected rule {line!r}: expected one SCMP_ACT_ALLOW rule")
            section = ""
        elif line.startswith("- ") and section == "architectures":
            arches.append(line[2:].strip())
        elif line.startswith("- ") and section == "names":
            names.append(line[2:].strip())
        elif line and not line.endswith(":") and ":" in line:
            section = ""
    if not name or not names or not arches:
        raise SystemExit(f"{source}: no metadata.name, architectures or names found")
    return {"profile": name, "architectures": arches, "names": sorted(set(names))}


def runtime_bases(reference: Path) -> dict[str, Any]:
    """The ``runtime_bases.json`` document."""
    bases: dict[str, Any] = {}
    for runtime in RUNTIMES:
        rel = f"security-profiles-operator/examples/baseprofile-{runtime}.yaml"
        data = (reference / rel).read_bytes()
        entry = parse_spo_base(data.decode(), rel)
        entry["source"] = {
            "repository": "kubernetes-sigs/security-profiles-operator",
            "path": rel.split("/", 1)[1],
            "commit": SPO_COMMIT,
            "blob": git_blob_hash(data),
        }
        bases[runtime] = entry
    return {"generated_by": "scripts/gen_profile_data.py", "bases": bases}


def _condition(rule: dict[str, Any]) -> str | None:
    """Why a rule of Docker's profile is not an unconditional allowance (None when it is one)."""
    if rule.get("action") != "SCMP_ACT_ALLOW":
        errno = rule.get("errnoRet")
        return f"answered with {rule.get('action')}" + (f" (errno {errno})" if errno else "")
    includes = rule.get("includes") or {}
    reasons = [f"needs {cap}" for cap in includes.get("caps") or []]
    if includes.get("minKernel"):
        reasons.append(f"needs kernel >= {includes['minKernel']}")
    if rule.get("args"):
        reasons.append("only for some argument values")
    if (rule.get("excludes") or {}).get("caps"):
        reasons.append("only without " + ", ".join(rule["excludes"]["caps"]))
    return " and ".join(reasons) or None


def docker_default(reference: Path) -> dict[str, Any]:
    """The ``docker_default.json`` document: unconditional names and reasons for the others.

    Rules limited only by ``includes.arches`` count as unconditional: Docker applies them on those
    hosts without further conditions.
    """
    rel = "moby-profiles/seccomp/default.json"
    data = (reference / rel).read_bytes()
    profile = json.loads(data)
    unconditional: set[str] = set()
    conditional: dict[str, set[str]] = {}
    for rule in profile["syscalls"]:
        reason = _condition(rule)
        for name in rule.get("names") or [rule["name"]]:
            if reason is None:
                unconditional.add(name)
            else:
                conditional.setdefault(name, set()).add(reason)
    return {
        "generated_by": "scripts/gen_profile_data.py",
        "source": {
            "repository": "moby/profiles",
            "path": "seccomp/default.json",
            "commit": MOBY_COMMIT,
            "blob": git_blob_hash(data),
        },
        "unconditional": sorted(unconditional),
        "conditional": {
            name: " or ".join(sorted(reasons))
            for name, reasons in sorted(conditional.items())
            if name not in unconditional
        },
    }


def render(document: dict[str, Any]) -> str:
    """Stable JSON text: sorted keys, 2-space indent, final newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the data files; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the checked-in data is stale")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    args = parser.parse_args(argv)
    outputs = {
        DATA / "runtime_bases.json": render(runtime_bases(args.reference)),
        DATA / "docker_default.json": render(docker_default(args.reference)),
    }
    stale = [path for path, text in outputs.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run scripts/gen_profile_data.py)", file=sys.stderr)
        return 1 if stale else 0
    DATA.mkdir(parents=True, exist_ok=True)
    for path in stale:
        path.write_text(outputs[path])
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
