"""The pack's rules over upstream objects (expanded charts and kustomize directories), reported apart.

mlplane's rules judge what mlplane declares (:mod:`policy.scope`); the objects a chart or
kustomize directory renders are upstream's, pinned but not rewritten. Where their sources
are at hand, the same rules run over them here, and every finding is reported with the
known upstream exception that explains it (:data:`UPSTREAM_EXCEPTIONS`) or, where none
does, as unexplained: nothing is skipped silently. ``tests/test_expansion_policy.py``
fails on an unexplained finding and on an exception no release needs any more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from mlplane.components.sources import chart_name_of, directory_location
from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.policy.registry import RESOURCE_RULES
from mlplane.policy.rules.base import ResourceContext, Violation
from mlplane.policy.scope import in_scope


@dataclass(frozen=True)
class UpstreamException:
    """Why an upstream source does not meet one of mlplane's rules.

    Attributes:
        policy: The policy (``pod-security-restricted``, ...).
        source: Glob over the source id (``chart:<name>`` or ``manifests:<path>``).
        reason: What upstream does, and why mlplane installs it anyway.
    """

    policy: str
    source: str
    reason: str

    def covers(self, policy: str, source: str) -> bool:
        """Whether this exception explains a finding of ``policy`` on ``source``."""
        return policy == self.policy and fnmatchcase(source, self.source)


_KUBEFLOW_1_8 = ("Kubeflow 1.8.1's own web apps and controllers (kubeflow/manifests v1.8.1) set no restricted "
                 "security context (runAsNonRoot, seccomp, dropped capabilities); 26.03 adds them. Their namespace "
                 "enforces baseline and warns on restricted (components/platform/namespaces.py).")
_NO_RESOURCES = ("upstream leaves requests and/or limits of these containers unset (kubeflow/manifests and the "
                 "charts as published); mlplane does not patch upstream manifests. Set them with the component's "
                 "`values` where the chart offers it.")

UPSTREAM_EXCEPTIONS: tuple[UpstreamException, ...] = (
    UpstreamException("no-host-path", "chart:node-feature-discovery",
                      "NFD's worker reads the node's hardware and kernel features from host paths "
                      "(/sys, /etc/os-release, /usr/lib, its features.d) to label nodes."),
    UpstreamException("no-host-path", "chart:nvidia-device-plugin",
                      "The NVIDIA device plugin registers with the kubelet through its device-plugin socket and "
                      "writes CDI specs on the host (/var/lib/kubelet/device-plugins, /var/run/cdi)."),
    UpstreamException("no-host-path", "chart:cni",
                      "Istio's CNI node agent installs its plugin and configuration on the host "
                      "(/opt/cni/bin, /etc/cni/net.d); it runs in its own privileged namespace."),
    UpstreamException("pod-security-restricted", "chart:node-feature-discovery",
                      "NFD's pods set no seccomp profile in the chart as published."),
    UpstreamException("pod-security-restricted", "chart:nvidia-device-plugin",
                      "The device plugin and its MPS daemon run as root with host access to manage the GPUs."),
    UpstreamException("pod-security-restricted", "chart:cni",
                      "Istio's CNI installer adds capabilities and runs as root to set up pod networking."),
    UpstreamException("pod-security-restricted", "manifests:common/istio*/cluster-local-gateway/base",
                      "Knative's cluster-local gateway of kubeflow/manifests v1.8.1 sets no seccomp profile (26.03 "
                      "patches one in: common/istio/cluster-local-gateway/base/patches/seccomp-cluster-local-gateway"
                      ".yaml), so restricted istio-system refuses its pods on the 1.8.1 train: a known defect, not "
                      "fixed (mlplane does not patch upstream directories)."),
    UpstreamException("pod-security-restricted", "chart:kserve", "KServe 0.11's kube-rbac-proxy sidecar " +
                      "sets no restricted security context; 0.16 drops the sidecar."),
    UpstreamException("pod-security-restricted", "manifests:apps/*", _KUBEFLOW_1_8),
    UpstreamException("pod-security-restricted", "manifests:contrib/*", _KUBEFLOW_1_8),
    UpstreamException("pod-security-restricted", "manifests:applications/trainer/*",
                      "Trainer 2.1's ClusterTrainingRuntimes are templates of users' training jobs "
                      "(dataset and model initializers, trainer nodes) with no security context; jobs that "
                      "mlplane runs set their own (components/pipeline/training_step.py)."),
    UpstreamException("images-pinned", "chart:gateway",
                      "`image: auto` is Istio's injection placeholder: the proxy image is pinned by istiod's "
                      "injection template at admission."),
    *(UpstreamException("resources-requests-limits", source, _NO_RESOURCES) for source in (
        "chart:node-feature-discovery", "chart:nvidia-device-plugin", "chart:cert-manager", "chart:cni",
        "chart:istiod", "chart:kserve", "manifests:apps/*", "manifests:contrib/*", "manifests:applications/*",
    )),
)


@dataclass(frozen=True)
class UpstreamFinding:
    """One rule finding on an upstream object.

    Attributes:
        violation: The finding, as mlplane's own are reported.
        source: The source id of the chart or directory the object comes from.
        parent: The chart's or directory's Pulumi name.
        exception: The known upstream exception that explains it, or None.
    """

    violation: Violation
    source: str
    parent: str
    exception: UpstreamException | None


def source_id(resource: PlanResource) -> str:
    """``chart:<name>`` for a chart, ``manifests:<path>`` for a kubeflow/manifests directory."""
    inputs = resource.inputs
    if "chart" in inputs:
        chart = str(inputs["chart"])
        return f"chart:{chart_name_of(chart, str(inputs.get('version', ''))) or chart.rstrip('/').rsplit('/', 1)[-1]}"
    directory = directory_location(str(inputs.get("directory", "")))
    path = directory.split("//", 2)[-1].split("?", 1)[0] if "//" in directory.split("://", 1)[-1] else directory
    return f"manifests:{path.strip('/')}"


def upstream_findings(plan: Plan, config: Mapping[str, Mapping[str, Any]] | None = None) -> list[UpstreamFinding]:
    """Every rule finding on the plan's upstream objects, each with its known exception (or None)."""
    config = config or {}
    by_urn = plan.by_urn()
    found: list[UpstreamFinding] = []
    for entry in plan:
        if not entry.custom or in_scope(entry.urn) or entry.parent not in by_urn:
            continue
        parent = by_urn[entry.parent]
        source = source_id(parent)
        for rule in RESOURCE_RULES:
            context = ResourceContext(name=entry.name, protect=entry.protect, retain_on_delete=entry.retain_on_delete,
                                      config=config.get(rule.name) or {})
            for message in rule.check(entry.type, entry.inputs, context):
                exception = next((e for e in UPSTREAM_EXCEPTIONS if e.covers(rule.name, source)), None)
                found.append(UpstreamFinding(Violation(rule.name, entry.urn, message), source, parent.name, exception))
    return found


def summary(findings: list[UpstreamFinding]) -> str:
    """Upstream findings grouped by source and policy, for ``mlplane preview``."""
    if not findings:
        return ""
    groups: dict[tuple[str, str], list[UpstreamFinding]] = {}
    for finding in findings:
        groups.setdefault((finding.source, finding.violation.policy), []).append(finding)
    lines = [f"Upstream objects (charts, kustomize directories): {len(findings)} findings of mlplane's rules, "
             "reported apart from mlplane's own:"]
    for (source, policy), items in sorted(groups.items()):
        known = items[0].exception
        note = f"known upstream exception: {known.reason}" if known else "NOT EXPLAINED by a known exception"
        lines.append(f"  {source} {policy} ({len(items)}): {note}")
    return "\n".join(lines) + "\n"
