"""The verify report: problems grouped by cause, in the API server's and controllers' own words.

A problem is attributed to a named harness limit (:data:`LIMITS`) only when its words say the
harness caused it (a webhook server that cannot answer here, a storage provisioner that does
not run here); everything else is the plan's problem. ``--fail-on-problem`` exits 1 on any
problem not so attributed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlplane.infra.offline.verify.changes import Change

GROUPS = {
    "refused": "Objects the API server refused",
    "patch-dropped": "Patch resources whose apply removed what others had set",
    "cannot-create-pods": "Workloads whose controller cannot create pods",
    "unbound-claims": "Claims the volume controller cannot bind",
    "crd-not-ancestor": "Custom resources whose CRD is not an ancestor",
    "webhook-not-awaited": "Objects a webhook matches whose server is not an awaited ancestor",
    "unscheduled": "Pods the scheduler cannot place",
    "misplaced": "Pods placed on another pool than intended",
    "prerequisite-unmet": "Prerequisites of the stack the harness does not stand in",
}
#: Named limits of a kubelet-less control plane; a problem whose words match one is the harness's.
LIMITS = {
    "no-webhook-server": ("no webhook server runs here (CRD conversion and any webhook not held back)",
                          ("failed calling webhook", "no endpoints available for service",
                           "conversion webhook")),
    "no-aggregated-api": ("no aggregated API server runs here",
                          ("the server is currently unable to handle the request",)),
    "no-storage-provisioner": ("no CSI driver or external provisioner runs here",
                               ("waiting for a volume to be created", "waiting for first consumer")),
    # kube-controller-manager's serviceaccounts controller makes each namespace's "default"
    # ServiceAccount (kubernetes/kubernetes pkg/controller/serviceaccount/serviceaccounts_controller.go);
    # admission only runs none, so a pod built from a custom resource that runs as "default" is refused.
    "no-controller-manager": ("admission only: no controller manager runs, so no namespace has its default "
                              "ServiceAccount", ('serviceaccount "default" not found',)),
    # Never matched by words: only the prerequisite stand-ins (.prerequisites) name it.
    "prerequisite-not-stood-in": ("a checked prerequisite (infra/prerequisites.py) the harness cannot stand in: "
                                  "a driver, controller or CRD the plan does not install", ()),
}
#: What the harness never judges; listed in every report.
NOT_JUDGED = (
    "readiness: no container runs, so the provider's await (Deployments, StatefulSets, DaemonSets, Jobs, "
    "Services) is not judged; a stored object counts as done",
    "webhook servers: held back, so mutations (e.g. sidecar injection) and validations they would make are absent",
    "controllers the plan installs (KServe, Knative, Argo, cert-manager, training and notebook operators) do not "
    "run: the pods of InferenceServices, Notebooks, Tensorboards, PyTorchJobs and TrainJobs are built from their "
    "templates with what the controller adds, cited (infra/offline/verify/cr_pods.py; pods marked approximate "
    "say why), and placed by the scheduler; other custom resources' pods (other training jobs, Argo Workflows, "
    "Katib, Knative Services) are not built (listed as not expanded)",
)


@dataclass(frozen=True)
class Problem:
    """One problem: its group, what it concerns, the words, and a harness limit when one explains it."""

    group: str
    subject: str
    message: str
    limit: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As JSON."""
        return {"group": self.group, "subject": self.subject, "message": self.message, "limit": self.limit}


def attribute(message: str) -> str | None:
    """The harness limit whose words appear in ``message``, if any."""
    lowered = message.lower()
    return next((name for name, (_, words) in LIMITS.items() if any(w in lowered for w in words)), None)


def problem(group: str, subject: str, message: str) -> Problem:
    """A problem, attributed to a harness limit when its words say so."""
    return Problem(group, subject, message, attribute(message))


@dataclass
class Report:
    """One verify cycle's findings and figures."""

    stack: str
    mode: str
    version: str
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    placed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    built: list[dict[str, Any]] = field(default_factory=list)

    @property
    def plan_problems(self) -> list[Problem]:
        """Problems no harness limit explains: the plan's own."""
        return [p for p in self.problems if p.limit is None]

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON document."""
        return {"stack": self.stack, "mode": self.mode, "kubernetes": self.version, "counts": self.counts,
                "problems": [p.to_json() for p in self.problems],
                "planProblems": len(self.plan_problems),
                "notAttempted": self.skipped,
                "warnings": [{"subject": s, "message": m} for s, m in self.warnings],
                "changes": [c.to_json() for c in self.changes],
                "placed": self.placed, "builtPods": self.built, "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
                "limits": {name: text for name, (text, _) in LIMITS.items()}, "notJudged": list(NOT_JUDGED)}

    def to_json_text(self) -> str:
        """:meth:`to_json`, indented."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    def to_text(self) -> str:
        """The report for a terminal: summary, problems by group, then warnings and the harness's changes."""
        c = self.counts
        lines = [f"mlplane verify: stack {self.stack}, Kubernetes {self.version}, {self.mode} "
                 f"({sum(self.seconds.values()):.0f} s)",
                 f"  {c.get('objects', 0)} objects: {c.get('applied', 0)} applied, {c.get('refused', 0)} refused, "
                 f"{c.get('notAttempted', 0)} not attempted, {c.get('heldBack', 0)} held back; "
                 f"{c.get('pods', 0)} pods created, {c.get('placed', 0)} placed",
                 f"  {len(self.plan_problems)} problem(s) of the plan, "
                 f"{len(self.problems) - len(self.plan_problems)} attributed to a harness limit", ""]
        for group, title in GROUPS.items():
            found = [p for p in self.problems if p.group == group]
            if not found:
                continue
            lines.append(f"{title} ({len(found)}):")
            for p in found:
                tag = f" [harness limit: {p.limit}]" if p.limit else ""
                lines.append(f"  - {p.subject}: {p.message}{tag}")
            lines.append("")
        if self.skipped:
            lines.append(f"Not attempted, an ancestor failed ({len(self.skipped)}):")
            lines += [f"  - {u.rsplit('::', 1)[-1]}: after {why.rsplit('::', 1)[-1]}"
                      for u, why in sorted(self.skipped.items())]
            lines.append("")
        if self.placed:
            lines.append("Pods placed, by pool: " + ", ".join(f"{k} {v}" for k, v in sorted(self.placed.items())))
            lines.append("")
        if self.built:
            lines.append(f"Pods built from custom resources' templates ({len(self.built)}):")
            for row in self.built:
                state = row["pod"] or ("refused" if "refused" in row else "not built")
                tag = f" [approximate: {'; '.join(row['approximate'])}]" if row["approximate"] else ""
                lines.append(f"  - {row['standsFor']}: {state}{tag}")
                lines += [f"      + {a['what']} ({a['source']})" for a in row["additions"]]
            lines.append("")
        if self.warnings:
            lines.append(f"Warnings ({len(self.warnings)}):")
            lines += [f"  - {s}: {m}" for s, m in self.warnings]
            lines.append("")
        lines.append(f"Changes the harness made to the plan ({len(self.changes)}):")
        by_kind: dict[str, list[Change]] = {}
        for change in self.changes:
            by_kind.setdefault(change.kind, []).append(change)
        for kind, changes in by_kind.items():
            lines.append(f"  {kind} ({len(changes)}):")
            lines += [f"    - {ch.target}: {ch.detail}" for ch in changes]
        lines.append("")
        lines.append("Not judged here: " + "; ".join(NOT_JUDGED))
        return "\n".join(lines) + "\n"
