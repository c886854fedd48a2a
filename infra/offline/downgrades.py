"""Release and chart versions going down between two plans: a risk the diff names.

A chart's ``version`` and a kubeflow/manifests directory's ``?ref=<tag>`` are recorded in
the plan. When a matched chart or directory goes to a lower version (26.03 -> v1.8.1,
cert-manager v1.19.4 -> v1.12.2), older controllers would run against custom resources,
webhooks and databases that the newer ones have already written or migrated. No
kubeflow/manifests document mlplane could cite supports or forbids going back, so this
is said as a risk, not as upstream's word. One concrete reason, in both pinned trains:
ML Metadata's server runs with ``--enable_database_upgrade=true`` (kubeflow/manifests,
applications/pipeline/upstream/base/metadata/base/metadata-grpc-deployment.yaml at 26.03,
apps/pipeline/... at v1.8.1), migrating its database schema to its own version on start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from mlplane.components.sources import chart_name_of, directory_location
from mlplane.infra.offline.plan import PlanResource

CHART_TYPE = "kubernetes:helm.sh/v4:Chart"
DIRECTORY_TYPE = "kubernetes:kustomize/v2:Directory"

RISK = ("downgrades are a risk: the older controllers meet custom resources, webhooks and databases the newer "
        "release has written or migrated (its metadata-grpc runs with --enable_database_upgrade=true); back up "
        "the databases and volumes first, or install the older release on a new cluster")


def version_key(version: str) -> tuple[int, ...] | None:
    """``v1.19.4`` -> ``(1, 19, 4)``, ``26.03`` -> ``(26, 3)``; None when there are no numbers."""
    numbers = re.findall(r"\d+", version.split("-", 1)[0].split("+", 1)[0])
    return tuple(int(n) for n in numbers) or None


def _ref(directory: str) -> str | None:
    query = urlsplit(directory).query if "://" in directory else ""
    refs = parse_qs(query).get("ref")
    return refs[0] if refs else None


def _version(resource: PlanResource) -> tuple[str, str] | None:
    """``(label, version)`` of a chart or a remote kubeflow/manifests directory."""
    if resource.type == CHART_TYPE and resource.inputs.get("version"):
        version = str(resource.inputs["version"])
        reference = str(resource.inputs.get("chart", resource.name))
        chart = chart_name_of(reference, version) or reference.rstrip("/").rsplit("/", 1)[-1]
        return f"chart {chart}", version
    if resource.type == DIRECTORY_TYPE:
        ref = _ref(directory_location(str(resource.inputs.get("directory", ""))))
        if ref:
            return "Kubeflow manifests", ref
    return None


def downgrades(pairs: Iterable[tuple[PlanResource, PlanResource]]) -> list[str]:
    """Each chart or release that goes to a lower version, as ``chart dex 0.24.0 → 0.14.3``, once each."""
    found: dict[str, str] = {}
    for old, new in pairs:
        before, after = _version(old), _version(new)
        if before is None or after is None:
            continue
        old_key, new_key = version_key(before[1]), version_key(after[1])
        if old_key is not None and new_key is not None and new_key < old_key:
            found.setdefault(after[0], f"{after[0]} {before[1]} → {after[1]}")
    # The release first (it explains the charts), then the charts by name.
    return sorted(found.values(), key=lambda text: (not text.startswith("Kubeflow"), text))


def downgrade_warning(pairs: Iterable[tuple[PlanResource, PlanResource]]) -> str | None:
    """One line naming every downgrade and the risk, or None when nothing goes down."""
    down = downgrades(pairs)
    if not down:
        return None
    return f"Downgrade: {', '.join(down)}. {RISK[0].upper()}{RISK[1:]}."
