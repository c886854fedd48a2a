"""Custom-resource schemas for validation tests, vendored from upstream CRDs.

``tests/data/crds/<group>/<kind>_<version>.json`` holds the ``openAPIV3Schema`` of an
upstream CRD (the layout of ``../shared/crds`` and of kubeconform's catalogs). They are
vendored so a fresh CI machine validates custom resources too; ``python -m tests.crds``
copies, from ``../shared/crds``, the schemas that the repository's stacks use.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENDORED = ROOT / "tests" / "data" / "crds"
UPSTREAM = ROOT.parent / "shared" / "crds"


def schema_file(api_version: str, kind: str, base: Path = VENDORED) -> Path:
    """Where the schema of ``apiVersion``/``kind`` lives below ``base``."""
    group, _, version = api_version.rpartition("/")
    return base / group / f"{kind.lower()}_{version}.json"


def _strict(schema: Any) -> Any:
    """Reject unknown fields, as kubeconform --strict does.

    Kubernetes silently prunes fields a structural schema does not know; a typo in a
    custom resource would then vanish at apply time. Validation should catch it.
    """
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        if (out.get("type") == "object" and "properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


#: What the API server allows at the root of every object, whether or not a CRD's schema
#: lists it (Istio's CRDs list only spec and status).
_OBJECT_ROOT = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}


@lru_cache(maxsize=None)
def strict_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The vendored schema for a custom resource, made strict; None if not vendored."""
    path = schema_file(api_version, kind)
    if not path.is_file():
        return None
    schema = _strict(copy.deepcopy(json.loads(path.read_text())))
    schema["properties"] = {**_OBJECT_ROOT, **schema.get("properties", {})}
    return schema


def vendor(kinds: list[tuple[str, str]]) -> list[Path]:
    """Copy the upstream schemas of ``(apiVersion, kind)`` pairs into tests/data/crds."""
    copied = []
    for api_version, kind in kinds:
        source = schema_file(api_version, kind, UPSTREAM)
        if not source.is_file():
            print(f"no upstream schema for {api_version} {kind} ({source})", file=sys.stderr)
            continue
        target = schema_file(api_version, kind)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(target)
    return copied


if __name__ == "__main__":  # vendor what the stacks use
    from tests.conftest import STACKS, rendered
    from tests.test_custom_resources import is_custom

    needed = sorted({(r.inputs["apiVersion"], r.inputs["kind"]) for stack in STACKS for r in rendered(stack)
                     if is_custom(r)})
    for path in vendor(needed):
        print(f"vendored {path.relative_to(ROOT)}")
