"""``mlplane:storage``: storage classes, model and data volumes, the artifact store.

Everything that holds data is protected (``protect`` and ``retainOnDelete``) unless the
stack says otherwise. Rules check that classes fit the cluster, volumes name declared
classes, and cloud artifact stores have their SDK installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field

from mlplane.components.base import ArgsModel
from mlplane.components.renames import name_clashes
from mlplane.components.storage.rules import claim_issues
from mlplane.components.storage.spec import STORE_CLUSTERS, ArtifactStoreSpec, StorageClassSpec, VolumeSpec
from mlplane.infra.config.accelerators import missing_sdk_finding
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

SECTION = "mlplane:storage"

#: The cloud store kinds and the cluster kind whose SDK they need.
_STORE_BACKEND = {"gcs": "gke", "s3": "eks", "azure-blob": "aks"}


class StorageConfig(ArgsModel):
    """Storage classes, volumes and the artifact store of a stack."""

    protect: bool = Field(
        True, description="Protect volumes, buckets and the artifact store from deletion (protect and retainOnDelete).",
    )
    classes: tuple[StorageClassSpec, ...] = Field((), description="StorageClasses mlplane creates.")
    volumes: tuple[VolumeSpec, ...] = Field((), description="Model and data volumes in the workload namespace.")
    artifacts: ArtifactStoreSpec | None = Field(None, description="The artifact store pipelines and serving use.")


@rule
def storage_fits_the_cluster(config: "StackConfig") -> Iterator[Finding]:
    """Classes fit the cluster kind, names are unique, volumes use declared classes."""
    storage = config.storage
    if storage is None:
        return
    backend = config.cluster.kind
    names: dict[str, int] = {}
    defaults = []
    for index, cls in enumerate(storage.classes):
        if backend not in cls.clusters:
            yield Finding((SECTION, "classes", index, "kind"), f"{cls.kind} storage does not exist on {backend} "
                          "clusters", cls.kind, ", ".join(_kinds_for(backend)))
        if cls.name in names:
            yield Finding((SECTION, "classes", index, "name"), "class name used twice", cls.name, "unique names")
        names.setdefault(cls.name, index)
        if cls.default:
            defaults.append(cls.name)
    if len(defaults) > 1:
        yield Finding((SECTION, "classes"), "more than one default StorageClass", defaults, "at most one default")
    declared = ", ".join(names) or "none declared; add mlplane:storage.classes"
    for index, key, held, _ in name_clashes(storage.volumes):
        yield Finding((SECTION, "volumes", index, key), "volume name used twice (current and earlier "
                      "names count: their claims would collide)", held, "unique names")
    profiles = [p.name for p in config.kubeflow.profiles] if config.kubeflow is not None else []
    for index, volume in enumerate(storage.volumes):
        if volume.namespace not in (None, config.cluster.workload_namespace, *profiles):
            yield Finding((SECTION, "volumes", index, "namespace"), "mlplane creates no such namespace for the claim",
                          volume.namespace, ", ".join([config.cluster.workload_namespace, *profiles]))
        for issue in claim_issues(size=volume.size, access_modes=volume.access_modes,
                                  storage_class=volume.storage_class, classes=storage.classes):
            yield Finding((SECTION, "volumes", index, *issue.path), issue.message, issue.value, issue.allowed)
    store = storage.artifacts
    if store is None:
        return
    if backend not in STORE_CLUSTERS[store.kind]:
        allowed = ", ".join(k for k, clusters in STORE_CLUSTERS.items() if backend in clusters)
        yield Finding((SECTION, "artifacts", "kind"), f"a {store.kind} artifact store needs its cloud's workload "
                      f"identity; this cluster is {backend}", store.kind, allowed)
    if store.kind == "in-cluster" and store.storage_class not in names:
        yield Finding((SECTION, "artifacts", "storage_class"), "not a class of mlplane:storage.classes",
                      store.storage_class, declared)
    if store.kind in _STORE_BACKEND and backend == _STORE_BACKEND[store.kind]:
        finding = missing_sdk_finding((SECTION, "artifacts", "kind"), backend, f"a {store.kind} artifact store")
        if finding is not None:
            yield finding


def _kinds_for(backend: str) -> list[str]:
    from mlplane.components.storage.spec import (AzureDiskClass, EbsClass, ExistingClass, GcePdClass, LocalPathClass,
                                                 NfsClass)

    return [c.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]
            for c in (GcePdClass, EbsClass, AzureDiskClass, LocalPathClass, NfsClass, ExistingClass)
            if backend in c.clusters]
