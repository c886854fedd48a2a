"""The stack's checked prerequisites, stood in for the way the cluster would satisfy them.

:func:`mlplane.infra.prerequisites.prerequisites` lists what a stack needs on its cluster and
does not install (a default StorageClass, Karpenter's CRDs, the taints of a self-hosted
pool's nodes, drivers and controllers). A real cluster has them before ``pulumi up``; a
fresh control plane does not, so without a stand-in every verify would report the missing
prerequisite instead of the plan's own problems. Each stand-in is an allow-listed change
(:data:`.changes.ALLOWED`, ``prerequisite-stood-in``):

- a default StorageClass: one StorageClass annotated
  ``storageclass.kubernetes.io/is-default-class: "true"``, which the API server's
  DefaultStorageClass admission plugin gives every claim that names no class
  (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#defaultstorageclass);
  its provisioner does not run here, so its claims stay Pending in the words of the
  ``no-storage-provisioner`` limit;
- Karpenter: its two CRDs, ``nodepools.karpenter.sh`` and ``ec2nodeclasses.karpenter.k8s.aws``
  (both cluster-scoped, version v1: aws/karpenter-provider-aws ``pkg/apis/crds``), built from
  their upstream schemas in a CRD schema folder (``--crds``, ``$MLPLANE_CRDS``; the layout
  of ../shared/crds); without one the prerequisite is reported unmet, attributed to the
  ``prerequisite-not-stood-in`` limit;
- the taints of a self-hosted pool's nodes: set on the nodes the harness makes for that
  pool (:mod:`.nodes`), as ``kubectl taint`` would;
- mlplane's Helm post-renderer on ``PATH`` and its kustomize plugin: the expanded plan the
  harness applies was rendered through them (the offline expansion runs their function in
  process).

Drivers and controllers are not stood in: each is listed as unmet and
attributed to ``prerequisite-not-stood-in`` (their absence shows, if at all, in the words of
another limit, e.g. a claim waiting for its provisioner).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplane.components import depends_on, ordered_directory
from mlplane.infra.offline.verify.changes import Change
from mlplane.infra.offline.verify.client import Kube
from mlplane.infra.offline.verify.errors import HarnessError
from mlplane.infra.prerequisites import Prerequisite

DEFAULT_CLASS = "mlplane-verify-default"
DEFAULT_CLASS_PROVISIONER = "verify.mlplane.dev/no-provisioner"
#: Karpenter's CRDs: (group, kind, plural, version), all cluster-scoped (aws/karpenter-provider-aws
#: v1 ``pkg/apis/crds/karpenter.sh_nodepools.yaml``, ``karpenter.k8s.aws_ec2nodeclasses.yaml``).
KARPENTER_CRDS = (("karpenter.sh", "NodePool", "nodepools", "v1"),
                  ("karpenter.k8s.aws", "EC2NodeClass", "ec2nodeclasses", "v1"))


@dataclass
class StandIns:
    """What the harness did for the stack's prerequisites.

    Attributes:
        changes: One ``prerequisite-stood-in`` change per prerequisite stood in.
        unmet: ``(name, why)`` of each prerequisite not stood in.
        crd_kinds: ``(group, kind)`` of the CRDs a stand-in installed.
    """

    changes: list[Change] = field(default_factory=list)
    unmet: list[tuple[str, str]] = field(default_factory=list)
    crd_kinds: set[tuple[str, str]] = field(default_factory=set)


def is_taint_prerequisite(item: Prerequisite) -> bool:
    """Whether ``item`` is a self-hosted node's taints (infra/prerequisites.py, node_taint_prerequisites)."""
    return item.name.startswith("taints of node")


def karpenter_crd(group: str, kind: str, plural: str, version: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A CustomResourceDefinition for one of Karpenter's kinds from its upstream schema."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Cluster",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                     "versions": [{"name": version, "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema}, "subresources": {"status": {}}}]}}


def stand_in(kube: Kube, items: list[Prerequisite], crds: Path | None) -> StandIns:
    """Satisfy each prerequisite the way the cluster would, before the walk.

    Args:
        kube: The fresh control plane.
        items: The stack's prerequisites.
        crds: A CRD schema folder (``<group>/<kind>_<version>.json``), or None.
    """
    done = StandIns()
    for item in items:
        if item.name == "a default StorageClass":
            kube.request("POST", "/apis/storage.k8s.io/v1/storageclasses", {
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": DEFAULT_CLASS,
                             "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                "provisioner": DEFAULT_CLASS_PROVISIONER, "volumeBindingMode": "Immediate"})
            done.changes.append(Change("prerequisite-stood-in", item.name,
                                       f"StorageClass {DEFAULT_CLASS} (default; provisioner "
                                       f"{DEFAULT_CLASS_PROVISIONER}, which does not run here)"))
        elif item.name == "Karpenter":
            _karpenter(kube, item, crds, done)
        elif item.check == f"command -v {depends_on.COMMAND}":
            # A prerequisite of the machine that runs `pulumi up`: the expansion already ran it.
            done.changes.append(Change("prerequisite-stood-in", item.name, "every chart of the applied plan was "
                                       "expanded through it (infra/offline/expand/engine.py, _post_rendered)"))
        elif item.check == ordered_directory.PLUGIN_CHECK:
            done.changes.append(Change("prerequisite-stood-in", item.name, "every directory of the applied plan was "
                                       "expanded through it (infra/offline/expand/engine.py, _post_rendered)"))
        elif is_taint_prerequisite(item):
            # The nodes are made with these taints (:func:`.nodes.declared_nodes`).
            done.changes.append(Change("prerequisite-stood-in", item.name, f"set on the harness's node(s): "
                                       f"{item.install}"))
        else:
            done.unmet.append((item.name, f"not stood in (needed by {item.needed_by}; check: {item.check})"))
    return done


def _karpenter(kube: Kube, item: Prerequisite, crds: Path | None, done: StandIns) -> None:
    files = [(entry, crds / entry[0] / f"{entry[1].lower()}_{entry[3]}.json") for entry in KARPENTER_CRDS] \
        if crds is not None else []
    if not files or not all(path.is_file() for _, path in files):
        done.unmet.append((item.name, "its CRDs are not stood in: no CRD schema folder holds "
                                      + ", ".join(f"{e[1]}.{e[0]}" for e in KARPENTER_CRDS)
                                      + " (give one with --crds or $MLPLANE_CRDS)"))
        return
    for (group, kind, plural, version), path in files:
        kube.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                     karpenter_crd(group, kind, plural, version, json.loads(path.read_text())))
        _wait_established(kube, f"{plural}.{group}")
        done.crd_kinds.add((group, kind))
        done.changes.append(Change("prerequisite-stood-in", item.name,
                                   f"CustomResourceDefinition {plural}.{group} from {path}"))


def _wait_established(kube: Kube, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crd = kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        if any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or []):
            return
        time.sleep(0.2)
    raise HarnessError(f"CustomResourceDefinition {name} not established after {timeout:.0f} s")
