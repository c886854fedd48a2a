"""What the controllers and the scheduler made of the applied plan, in their own words.

Read after the settle wait (:func:`settle`): Warning events (``FailedCreate`` from the
ReplicaSet, StatefulSet, DaemonSet and Job controllers, e.g. a Pod Security refusal;
``FailedBinding`` of a claim), ReplicaSets' ``ReplicaFailure`` condition, and each pod's
``PodScheduled`` condition and node. Controllers emit these on real clusters too
(kubernetes/kubernetes pkg/controller/replicaset/replica_set.go and siblings record
``FailedCreate``; pkg/controller/volume/persistentvolume records ``FailedBinding``).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from mlplane.infra.offline.verify.client import Kube

#: Warning reasons that mean a controller could not make what a workload or claim asks for.
CONTROLLER_REASONS = ("FailedCreate", "FailedBinding", "ProvisioningFailed", "FailedScheduling")


@dataclass
class ClusterState:
    """The settled cluster, summarised.

    Attributes:
        cannot_create: ``kind namespace/name`` -> the controller's messages (deduplicated).
        unbound_claims: ``namespace/name`` -> the volume controller's message.
        unscheduled: ``namespace/pod`` -> the scheduler's message and, when every claim the pod
            mounts exists with a StorageClass (only the provisioner is missing), that harness limit.
        misplaced: ``namespace/pod`` -> why its pool is not the intended one (a pod that asks for no
            accelerator, not a DaemonSet's, bound to an accelerator pool's node).
        placed: pool -> how many pods the scheduler bound to it.
        pods: How many pods the controllers created.
    """

    cannot_create: dict[str, list[str]] = field(default_factory=dict)
    unbound_claims: dict[str, str] = field(default_factory=dict)
    unscheduled: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    misplaced: dict[str, str] = field(default_factory=dict)
    placed: dict[str, int] = field(default_factory=dict)
    pods: int = 0


def settle(kube: Kube, minimum: float = 10.0, maximum: float = 60.0, quiet: int = 3) -> float:
    """Wait until pods and events stop changing (``quiet`` polls of 2 s), at least ``minimum`` s.

    Returns:
        The seconds waited.
    """
    start, last, same = time.monotonic(), None, 0
    while time.monotonic() - start < maximum:
        pods = kube.get("/api/v1/pods", {"limit": "5000"}).get("items") or []
        events = kube.get("/api/v1/events", {"limit": "5000"}).get("items") or []
        signature = (len(pods), sum(1 for p in pods if (p.get("spec") or {}).get("nodeName")), len(events),
                     sum(int(e.get("count") or 1) for e in events if e.get("reason") in CONTROLLER_REASONS))
        same = same + 1 if signature == last else 0
        last = signature
        if same >= quiet and time.monotonic() - start >= minimum:
            break
        time.sleep(2)
    return time.monotonic() - start


_POD_NAME = re.compile(r'(pods? ")([a-z0-9.-]+?)-[a-z0-9]{5}(")')
_COMBINED = "(combined from similar events): "


def _words(message: str) -> str:
    """A controller's message with the random pod-name suffix and the event aggregator's prefix dropped."""
    return _POD_NAME.sub(r"\1\2-<random>\3", message.strip().removeprefix(_COMBINED))


def _short(kind: str, item: dict[str, Any]) -> str:
    return f"{kind} {item['metadata']['namespace']}/{item['metadata']['name']}"


def _missing_pods(kube: Kube) -> dict[str, str]:
    """Workloads whose controller has not made the pods they ask for: key -> the key to report under.

    A ReplicaSet is reported under its Deployment. Workloads that got their pods after a
    transient refusal (a ServiceAccount created a moment later) are not here.
    """
    found = {}
    for rs in kube.items("apps/v1", "ReplicaSet"):
        if int((rs.get("status") or {}).get("replicas") or 0) < int((rs.get("spec") or {}).get("replicas") or 0):
            owner = next((r["name"] for r in rs["metadata"].get("ownerReferences") or []
                          if r.get("kind") == "Deployment"), None)
            found[_short("ReplicaSet", rs)] = (f"Deployment {rs['metadata']['namespace']}/{owner}" if owner
                                                else _short("ReplicaSet", rs))
    for sts in kube.items("apps/v1", "StatefulSet"):
        if int((sts.get("status") or {}).get("replicas") or 0) < int((sts.get("spec") or {}).get("replicas", 1)):
            found[_short("StatefulSet", sts)] = _short("StatefulSet", sts)
    for ds in kube.items("apps/v1", "DaemonSet"):
        status = ds.get("status") or {}
        if int(status.get("currentNumberScheduled") or 0) < int(status.get("desiredNumberScheduled") or 0):
            found[_short("DaemonSet", ds)] = _short("DaemonSet", ds)
    for job in kube.items("batch/v1", "Job"):
        status = job.get("status") or {}
        if not any(int(status.get(k) or 0) for k in ("active", "succeeded", "failed", "terminating")):
            found[_short("Job", job)] = _short("Job", job)
    return found


def read_state(kube: Kube, pool_of_node: dict[str, str]) -> ClusterState:
    """Summarise events, workloads and pods (``pool_of_node``: node name -> pool)."""
    state = ClusterState()
    missing = _missing_pods(kube)
    latest: dict[str, tuple[str, str]] = {}
    for event in kube.get("/api/v1/events", {"limit": "5000"}).get("items") or []:
        if event.get("reason") not in CONTROLLER_REASONS:
            continue
        involved = event.get("involvedObject") or {}
        kind, namespace, name = involved.get("kind", ""), involved.get("namespace", ""), involved.get("name", "")
        when = event.get("lastTimestamp") or event.get("eventTime") or ""
        if kind == "PersistentVolumeClaim":  # the volume controller records FailedBinding as Normal (1.36)
            state.unbound_claims[f"{namespace}/{name}"] = _words(event.get("message") or "")
            continue
        if event.get("type") != "Warning":
            continue
        key = missing.get(f"{kind} {namespace}/{name}")
        if key is not None and (key not in latest or when >= latest[key][0]):
            latest[key] = (when, _words(event.get("message") or ""))
    state.cannot_create = {key: [message] for key, (_, message) in sorted(latest.items())}
    placed: dict[str, int] = defaultdict(int)
    claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in kube.items("v1", "PersistentVolumeClaim")}
    for pod in kube.items("v1", "Pod"):
        state.pods += 1
        spec, key = pod.get("spec") or {}, f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        node = spec.get("nodeName")
        if node:
            pool = pool_of_node.get(node, "unknown node")
            placed[pool] += 1
            if pool not in ("cpu", "unknown node") and not _is_daemon(pod) and not _accelerators(spec):
                state.misplaced[key] = (f"requests no accelerator but was bound to node {node} of accelerator "
                                        f"pool {pool} (the node has no taint this pod does not tolerate)")
            continue
        conditions = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "PodScheduled"]
        for condition in conditions:
            if condition.get("status") == "False":
                state.unscheduled[key] = (condition.get("message") or condition.get("reason") or "",
                                          _claims_limit(pod, claims))
        if not conditions:
            # The scheduler chose a node but has not bound the pod: it waits in PreBind for the pod's
            # claims to be provisioned (a WaitForFirstConsumer class; kubernetes/kubernetes
            # pkg/scheduler/framework/plugins/volumebinding), which sets no condition until it times out.
            state.unscheduled[key] = (PENDING_BINDING, _claims_limit(pod, claims))
    state.placed = dict(placed)
    return state


#: The words for a pod neither bound nor refused by the scheduler after the settle wait.
PENDING_BINDING = ("not bound to a node after the settle wait, and the scheduler set no PodScheduled condition "
                   "(it holds the pod in binding, e.g. until its claims' volumes are provisioned)")


#: Extended resources the device plugins advertise (see :mod:`.nodes`).
ACCELERATOR_PREFIXES = ("nvidia.com/", "amd.com/", "gpu.intel.com/")


def _accelerators(spec: dict[str, Any]) -> bool:
    """Whether any container asks for an accelerator resource."""
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        resources = container.get("resources") or {}
        for name in {**(resources.get("limits") or {}), **(resources.get("requests") or {})}:
            if name.startswith(ACCELERATOR_PREFIXES):
                return True
    return False


def _is_daemon(pod: dict[str, Any]) -> bool:
    """Whether a DaemonSet owns the pod (a per-node agent belongs on every pool it tolerates)."""
    return any(ref.get("kind") == "DaemonSet" for ref in pod["metadata"].get("ownerReferences") or [])


def _claims_limit(pod: dict[str, Any], claims: dict[tuple[str, str], dict[str, Any]]) -> str | None:
    """``no-storage-provisioner`` when the pod waits only on claims that exist and name a StorageClass."""
    namespace = pod["metadata"]["namespace"]
    names = [v["persistentVolumeClaim"]["claimName"] for v in (pod.get("spec") or {}).get("volumes") or []
             if v.get("persistentVolumeClaim")]
    if not names:
        return None
    found = [claims.get((namespace, n)) for n in names]
    if all(c is not None and (c.get("spec") or {}).get("storageClassName") for c in found):
        return "no-storage-provisioner"
    return None
