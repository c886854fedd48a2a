"""istiod and the ingress gateway run in Pod Security `restricted` istio-system, on both trains.

Judged by a real API server and ReplicaSet controller (``../shared/k8s``): the Deployments
as mlplane renders them, with their ServiceAccounts and ConfigMaps, get their pods created;
the same istiod without its seccomp profile (what the charts render by default, and what
mlplane rendered before) is refused by Pod Security admission. The sidecar injector's
webhook configuration is not applied: no istiod answers on a kubelet-less control plane,
and the gateway's pods would otherwise wait for it (their Pod Security is judged after
mutation, and the injector's gateway template keeps the chart's pod security context).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from mlplane.infra.offline.plan import Plan

from . import controlplane
from .expansion import RELEASES, expanded

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
CHART_DEPLOYMENTS = ("istiod", "istio-ingressgateway")
pytestmark = pytest.mark.usefixtures("expansion_scratch")


def _objects(plan: Plan, namespace: str) -> list[dict[str, Any]]:
    return [r.inputs for r in plan if r.is_kubernetes_object
            and (r.inputs.get("metadata") or {}).get("namespace") == namespace]


def _deployment(plan: Plan, name: str) -> dict[str, Any]:
    return next(o for o in _objects(plan, "istio-system") if o["kind"] == "Deployment"
                and o["metadata"]["name"] == name)


def _seccomp(pod: dict[str, Any]) -> set[str | None]:
    pod_level = ((pod.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    return {((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type") or pod_level
            for c in pod["containers"]}


@pytest.mark.parametrize("release", RELEASES)
def test_istiod_and_the_gateway_set_a_runtime_default_seccomp_profile(release: str) -> None:
    plan = expanded(release).plan
    namespace = next(r.inputs for r in plan if r.inputs.get("kind") == "Namespace"
                     and r.inputs["metadata"]["name"] == "istio-system")
    labels = namespace["metadata"]["labels"]
    if release == "26.03":
        assert RESTRICTED.items() <= labels.items()  # never lowered
    else:
        # 1.8.1 sets no level on istio-system; its Knative directory's cluster-local gateway sets no
        # seccomp profile, so mlplane enforces baseline there and warns at restricted (never less).
        assert labels["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted")
        assert labels.get("pod-security.kubernetes.io/warn", "restricted") == "restricted"
    for name in CHART_DEPLOYMENTS:
        assert _seccomp(_deployment(plan, name)["spec"]["template"]["spec"]) == {"RuntimeDefault"}, name
    gateway = _deployment(plan, "istio-ingressgateway")["spec"]["template"]["spec"]["securityContext"]
    # The chart's own default (ports below 1024 as user 1337) is kept beside the profile.
    assert gateway["sysctls"] == [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]


@pytest.mark.parametrize("release", RELEASES)
def test_the_replicaset_controller_creates_their_pods_in_restricted_istio_system(release: str) -> None:
    plan = expanded(release).plan
    namespace = copy.deepcopy(next(r.inputs for r in plan if r.inputs.get("kind") == "Namespace"
                                   and r.inputs["metadata"]["name"] == "istio-system"))
    # Judged at restricted on both trains: the charts' pods must pass it whatever the train enforces.
    namespace["metadata"]["labels"].update(RESTRICTED)
    needed = [o for o in _objects(plan, "istio-system") if o["kind"] in ("ServiceAccount", "ConfigMap")]
    deployments = [_deployment(plan, name) for name in CHART_DEPLOYMENTS]
    # Seeded fault: istiod as the chart renders it without mlplane's value.
    unpatched = copy.deepcopy(_deployment(plan, "istiod"))
    unpatched["metadata"]["name"] = "istiod-unpatched"
    for container in unpatched["spec"]["template"]["spec"]["containers"]:
        container["securityContext"].pop("seccompProfile")
    output = controlplane.run("""
kubectl apply --server-side -f $FILES/namespace.yaml >/dev/null
kubectl apply --server-side -f $FILES/needed.yaml >/dev/null
kubectl apply --server-side -f $FILES/deployments.yaml 2>&1
for i in $(seq 30); do
  [ "$(kubectl get pods -n istio-system --no-headers 2>/dev/null | wc -l)" -ge 2 ] && \
  [ -n "$(kubectl get events -n istio-system --field-selector reason=FailedCreate --no-headers 2>/dev/null)" ] && break
  sleep 1
done
kubectl get pods -n istio-system -o custom-columns=OWNER:.metadata.ownerReferences[0].name --no-headers | sed 's/^/pod-of /'
kubectl get events -n istio-system --field-selector reason=FailedCreate \
  -o custom-columns=OBJ:.involvedObject.name,MSG:.message --no-headers | sed 's/^/refused /'
""", {"namespace.yaml": namespace, "needed.yaml": needed, "deployments.yaml": [*deployments, unpatched]})
    owners = {re.sub(r"-[a-z0-9]+$", "", line.split()[1]) for line in output.splitlines()
              if line.startswith("pod-of ")}
    refused = {re.sub(r"-[a-z0-9]+$", "", line.split()[1]) for line in output.splitlines()
               if line.startswith("refused ")}
    assert owners == set(CHART_DEPLOYMENTS), output
    assert refused == {"istiod-unpatched"}, output
    assert 'violates PodSecurity "restricted:latest": seccompProfile' in output
