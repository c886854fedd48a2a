"""The harness's changes to the plan, each listed in the report and checked against an allow-list.

A kubelet-less control plane cannot judge everything the plan would meet on a real cluster;
where the harness must change what it applies, it says so here. :data:`ALLOWED` is the
complete list of kinds of change; a test asserts every run's list stays within it. Nothing in
it weakens the plan: no webhook ``failurePolicy``, injection opt-out or Pod Security level is
ever changed (docs/verify.md).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Kind of change -> why the harness makes it.
ALLOWED = {
    "secret-filled": "a secret the offline render cannot know ([secret], [unknown]) is given a placeholder value; "
                     "`[secret]` is not base64 and would be refused as illegal base64 data",
    "webhook-held-back": "no webhook server runs without a kubelet: the configuration is not applied, and the "
                         "objects its rules match are checked against the plan's order instead",
    "node-created": "no cloud or kubelet registers nodes: the harness creates each node a declared pool (or the "
                    "cluster's CPU pool) would have, with the platform's documented labels, taints and capacity",
    "prerequisite-stood-in": "a checked prerequisite (infra/prerequisites.py) the cluster has before `pulumi up` is "
                             "made as the cluster would have it: a default StorageClass, Karpenter's CRDs from a CRD "
                             "schema folder, the taints of a self-hosted pool's nodes",
    "cr-child-created": "no controller the plan installs runs here (KServe, Knative, notebook, tensorboard and "
                        "profile controllers): the pod each such custom resource's controller would create is built "
                        "from its template plus what that controller adds, cited to its source (cr_pods.py), and "
                        "created owned by the custom resource, so the scheduler judges its placement (uncited parts "
                        "mark it approximate); a Profile's ServiceAccounts, which its namespace's pods name, likewise",
}


@dataclass(frozen=True)
class Change:
    """One change: its kind (a key of :data:`ALLOWED`), what it touched and how."""

    kind: str
    target: str
    detail: str

    def to_json(self) -> dict[str, str]:
        """The change as a JSON object."""
        return {"kind": self.kind, "target": self.target, "detail": self.detail}
