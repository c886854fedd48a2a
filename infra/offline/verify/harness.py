"""One verify cycle: a fresh control plane, the nodes, the walk, the settle wait, the report.

Each cycle starts its own control plane in its own state folder (a temporary directory,
removed afterwards) and always stops it (:class:`.controlplane.ControlPlane`). Starting one
takes about 5 s on the project's machine, so the harness never reuses a cluster between
stacks: nothing one stack left can change the next stack's verdict.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplane.components.admission import is_configuration
from mlplane.infra.offline.ancestry import Ancestry
from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.verify.binaries import Binaries
from mlplane.infra.offline.verify.changes import Change
from mlplane.infra.offline.verify.client import ApiError, Kube
from mlplane.infra.offline.verify.controlplane import ControlPlane
from mlplane.infra.offline.verify.cr_pods import APPROXIMATE_ANNOTATION, BuiltPod, build_pods, stands_for
from mlplane.infra.offline.verify.crds import crd_problems
from mlplane.infra.offline.verify.cluster_state import read_state, settle
from mlplane.infra.offline.verify.nodes import NodeSpec, create_nodes, declared_nodes
from mlplane.infra.offline.verify.prerequisites import stand_in
from mlplane.infra.offline.verify.report import Problem, Report, attribute, problem
from mlplane.infra.offline.verify.walk import objects_of, walk
from mlplane.infra.offline.webhooks import Ungated, ungated
from mlplane.infra.prerequisites import Prerequisite


#: Kinds whose pods a controller creates (or that are pods); Pod Security judges their templates.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
#: How the API server words a Pod Security warning on a workload (staging/src/k8s.io/pod-security-admission).
POD_SECURITY_WARNING = "would violate PodSecurity"


def builtin_groups(kube: Kube) -> set[str]:
    """The API groups a fresh API server serves (anything else is a custom resource's)."""
    return {g["name"] for g in kube.get("/apis").get("groups") or []}


def cycle(kube: Kube, plan: Plan, nodes: list[NodeSpec], full: bool, stack: str, version: str,
          prerequisites: Sequence[Prerequisite] = (), crds: Path | None = None) -> Report:
    """Apply ``plan`` to the running control plane ``kube`` and judge it.

    Args:
        kube: The admin client of a fresh control plane.
        plan: The expanded plan (``render --sources``).
        nodes: The nodes to create first (:func:`.nodes.declared_nodes`).
        full: Whether the controller manager and scheduler run (else admission only).
        stack: The stack's name, for the report.
        version: The API server's version.
        prerequisites: The stack's checked prerequisites, stood in first (:mod:`.prerequisites`).
        crds: A CRD schema folder for prerequisite CRDs (Karpenter's), or None.
    """
    seconds: dict[str, float] = {}
    start = time.monotonic()
    builtin = builtin_groups(kube)
    changes: list[Change] = create_nodes(kube, nodes)
    stood = stand_in(kube, list(prerequisites), crds)
    changes += stood.changes
    ancestry = Ancestry(plan)
    objects = objects_of(plan)
    held = {r.urn for r in objects if is_configuration(r.inputs)}
    changes += [Change("webhook-held-back", plan.by_urn()[u].name,
                       f"{plan.by_urn()[u].inputs['kind']} not applied") for u in sorted(held)]
    result = walk(kube, ancestry, objects, held)
    changes = result.changes + changes
    seconds["apply"] = time.monotonic() - start
    problems: list[Problem] = [problem("refused", u.rsplit("::", 1)[-1], o.error) for u, o in result.refused.items()]
    problems += [problem("patch-dropped", u.rsplit("::", 1)[-1], f"its apply removed {item}")
                 for u, o in sorted(result.outcomes.items()) for item in o.dropped]
    built = create_cr_pods(kube, list(result.applied.values()))
    changes += built.changes
    problems += built.problems
    pods = placed = 0
    placement: dict[str, int] = {}
    if full:
        seconds["settle"] = settle(kube)
        begin = time.monotonic()
        state = read_state(kube, {n.name: n.pool for n in nodes})
        problems += [problem("cannot-create-pods", key, message)
                     for key, messages in sorted(state.cannot_create.items()) for message in messages]
        problems += [problem("unbound-claims", key, m) for key, m in sorted(state.unbound_claims.items())]
        problems += [Problem("unscheduled", built.subject(key), m, limit or attribute(m))
                     for key, (m, limit) in sorted(state.unscheduled.items())]
        problems += [problem("misplaced", built.subject(key), m) for key, m in sorted(state.misplaced.items())]
        pods, placement = state.pods, state.placed
        placed = sum(placement.values())
        seconds["inspect"] = time.monotonic() - begin
    else:
        pods = len(built.created)  # no controller creates any other pod without a controller manager
    begin = time.monotonic()
    problems += [problem("crd-not-ancestor", *line.split(": ", 1)) for line in crd_problems(ancestry, objects, builtin, stood.crd_kinds)]
    problems += [Problem("prerequisite-unmet", name, why, "prerequisite-not-stood-in") for name, why in stood.unmet]
    labels = _namespace_labels(kube)
    # failurePolicy Fail refuses the object; Ignore lets it through unvalidated or unmutated: a warning.
    problems += [problem("webhook-not-awaited", u.object.rsplit("::", 1)[-1], _gated_text(u, plan))
                 for u in ungated(plan)]
    seconds["graph"] = time.monotonic() - begin
    warnings = [(u.object.rsplit("::", 1)[-1], "admitted unchecked if it comes first: " + _gated_text(u, plan))
                for u in ungated(plan, "Ignore")]
    for urn, outcome in sorted(result.outcomes.items()):
        name = urn.rsplit("::", 1)[-1]
        if not full and outcome.ok and result.applied[urn].get("kind") in WORKLOAD_KINDS:
            # Without a controller manager the API server's admission warning is the verdict the
            # controller would meet: Pod Security enforces at pod creation, in these words.
            # Only the enforce level's warning: a `warn` label's level (often stricter) warns and
            # never refuses (https://kubernetes.io/docs/concepts/security/pod-security-admission/).
            meta = result.applied[urn].get("metadata") or {}
            namespace = meta.get("namespace", "default")
            subject = f"{result.applied[urn]['kind']} {namespace}/{meta.get('name')}"
            enforced = _enforce_warning(labels.get(namespace, {}))
            problems += [problem("cannot-create-pods", subject, w) for w in outcome.warnings
                         if enforced and w.startswith(enforced)]
            outcome_warnings = [w for w in outcome.warnings if not (enforced and w.startswith(enforced))]
        else:
            outcome_warnings = outcome.warnings
        warnings += [(name, w) for w in outcome_warnings]
        if outcome.strict:
            warnings.append((name, f"strict field validation would refuse it: {outcome.strict}"))
    counts = {"objects": len(objects), "applied": len(result.applied), "refused": len(result.refused),
              "notAttempted": len(result.skipped), "heldBack": len(held), "retried": len(result.retries),
              "pods": pods, "placed": placed, "nodes": len(nodes), "crPods": len(built.created),
              "crPodsApproximate": sum(1 for b in built.created.values() if b.approximate)}
    warnings += built.warnings
    return Report(stack=stack, mode="full cycle" if full else "admission only", version=version, counts=counts,
                  problems=problems, skipped=result.skipped, warnings=warnings, changes=changes,
                  placed=placement, seconds=seconds, built=built.summary())


@dataclass
class CrPods:
    """The pods built from custom resources' templates (:mod:`.cr_pods`) and what creating them did.

    Attributes:
        created: ``namespace/pod`` -> the built pod, for each pod the API server stored.
        refused: The built pods the API server refused, with its words.
        not_expanded: ``(Kind namespace/name, why)`` of custom resources whose pods are not built.
        changes: One ``cr-child-created`` change per object created.
        problems: Refusals, as ``cannot-create-pods`` problems of the custom resource.
        warnings: The API server's warnings on the pods' creation.
    """

    created: dict[str, BuiltPod] = field(default_factory=dict)
    refused: list[tuple[BuiltPod, str]] = field(default_factory=list)
    not_expanded: list[tuple[str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def subject(self, key: str) -> str:
        """How the report names a pod: a built pod says which custom resource it stands for."""
        pod = self.created.get(key)
        if pod is None:
            return key
        return f"{key} (built from {pod.stands_for}{', approximate' if pod.approximate else ''})"

    def summary(self) -> list[dict[str, Any]]:
        """Each built pod: what it stands for, its name, what the controller added (cited), why approximate."""
        rows = [{"standsFor": b.stands_for, "pod": key, "created": True,
                 "additions": [{"what": a.what, "source": a.source} for a in b.additions],
                 "approximate": b.approximate} for key, b in sorted(self.created.items())]
        rows += [{"standsFor": b.stands_for, "pod": None, "created": False, "refused": why,
                  "additions": [{"what": a.what, "source": a.source} for a in b.additions],
                  "approximate": b.approximate} for b, why in self.refused]
        rows += [{"standsFor": s, "pod": None, "created": False, "additions": [],
                  "approximate": [f"not expanded: {why}"]} for s, why in self.not_expanded]
        return rows


def create_cr_pods(kube: Kube, applied: list[dict[str, Any]]) -> CrPods:
    """Create the pods the applied custom resources' controllers would make (:func:`.cr_pods.build_pods`).

    Each object is owned by its custom resource (an ownerReference with the stored object's uid)
    and labelled as built by verify; the scheduler then places the pods like any other.
    """
    found = CrPods()
    built_all, found.not_expanded = build_pods(applied)
    for built in built_all:
        source = next(o for o in applied if stands_for(o) == built.stands_for)
        manifest, meta = built.pod, source["metadata"]
        if built.approximate:
            manifest["metadata"]["annotations"][APPROXIMATE_ANNOTATION] = "; ".join(built.approximate)
        namespace = manifest["metadata"]["namespace"]
        try:
            live = kube.get(kube.path(source["apiVersion"], source["kind"], meta.get("namespace"), meta["name"]))
            manifest["metadata"]["ownerReferences"] = [{"apiVersion": source["apiVersion"], "kind": source["kind"],
                                                        "name": meta["name"], "uid": live["metadata"]["uid"]}]
            response = kube.request("POST", kube.path("v1", manifest["kind"], namespace, None), manifest)
        except ApiError as exc:
            if exc.reason == "AlreadyExists" and manifest["kind"] != "Pod":
                continue  # the plan made it itself (a ServiceAccount): nothing to stand in
            found.refused.append((built, exc.message))
            found.problems.append(problem("cannot-create-pods", f"{built.stands_for} (its controller's "
                                          f"{manifest['kind']}, built here"
                                          f"{', approximate' if built.approximate else ''})", exc.message))
            continue
        key = f"{namespace}/{response.body['metadata']['name']}"
        if manifest["kind"] == "Pod":
            found.created[key] = built
            found.warnings += [(key, w) for w in response.warnings]
        found.changes.append(Change("cr-child-created", f"{manifest['kind']} {key}", f"stands for {built.stands_for}: "
                                    + "; ".join(a.what for a in built.additions)
                                    + (f" (approximate: {'; '.join(built.approximate)})" if built.approximate else "")))
    return found


def _gated_text(found: Ungated, plan: Plan) -> str:
    """How the report words an object a webhook may be called for before its server is ready."""
    hook = found.webhook
    configuration = plan.by_urn()[found.configuration].inputs["metadata"]["name"]
    service = "/".join(hook.service) if hook.service else "a URL"
    servers = ", ".join(s.rsplit("::", 1)[-1] for s in found.servers)
    why = {"no server": "its Service has no workload in the plan",
           "not awaited": f"served by {servers}, which skips await",
           "not an ancestor": f"served by {servers}, not an awaited ancestor"}[found.reason]
    return f"webhook {hook.name} ({configuration}, failurePolicy {hook.failure_policy}) calls {service}, {why}"


def _enforce_warning(labels: dict[str, str]) -> str | None:
    """How a warning for this namespace's enforced Pod Security level begins (None: nothing enforced)."""
    level = labels.get("pod-security.kubernetes.io/enforce")
    if not level or level == "privileged":
        return None
    version = labels.get("pod-security.kubernetes.io/enforce-version") or "latest"
    return f'{POD_SECURITY_WARNING} "{level}:{version}"'


def _namespace_labels(kube: Kube) -> dict[str, dict[str, str]]:
    return {ns["metadata"]["name"]: ns["metadata"].get("labels") or {} for ns in kube.items("v1", "Namespace")}


def verify(plan: Plan, binaries: Binaries, kind: str, pools: list[Any], admission_only: bool = False,
           state_parent: Path | None = None, prerequisites: Sequence[Prerequisite] = (),
           crds: Path | None = None) -> Report:
    """A whole cycle on a control plane of its own, started and always stopped here.

    Raises:
        HarnessError: The control plane did not come up (exit 3).
        NotIsolated: The network namespace has interfaces besides loopback.
    """
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mlplane-verify-", dir=state_parent) as state:
        with ControlPlane(binaries, Path(state), admission_only=admission_only) as plane:
            started = time.monotonic() - start
            kube = Kube(plane.kubeconfig)
            try:
                report = cycle(kube, plan, declared_nodes(kind, pools, plan), plane.full, plan.stack,
                               binaries.version, prerequisites, crds)
            finally:
                kube.close()
    report.seconds = {"start": started, **report.seconds}
    return report
