"""Objects controllers create at run time, synthesized from their source at the pinned tags.

- Kubeflow's profile controller (kubeflow/kubeflow ``components/profile-controller/
  controllers/profile_controller.go`` at v1.8.0 and v1.10.0, identical here): per Profile
  the namespace (``istio-injection: enabled`` plus the ``namespace-labels`` ConfigMap's
  labels), the ServiceAccounts ``default-editor``/``default-viewer`` bound to
  ``kubeflow-edit``/``kubeflow-view``, the owner's RoleBinding ``namespaceAdmin`` to
  ``kubeflow-admin``, and the ALLOW policy ``ns-owner-access-istio``
  (``getAuthorizationPolicy``: the owner's header from the gateway or KFP UI principals;
  same-namespace traffic; Knative probe paths; the notebook controller's GET of
  ``*/api/kernels``). Principals and header come from the controller's ``profiles-config``.
- KFAM (``components/access-management/kfam/bindings.go``, same tags): a contributor's
  RoleBinding and an ALLOW policy of their header from the gateway or KFP UI principals.
- The notebook controller (``components/notebook-controller/controllers/
  notebook_controller.go``): a StatefulSet (pod labels ``statefulset``, ``notebook-name``),
  a Service (80 -> 8888) and a VirtualService ``/notebook/<ns>/<name>/`` on
  ``kubeflow/kubeflow-gateway``; the TensorBoard controller (``components/
  tensorboard-controller/controllers/tensorboard_controller.go``): pod label ``app``,
  Service 80 -> 6006, route ``/tensorboard/<ns>/<name>/``.
- KFP's profile controller: :mod:`policy.access.kfp_sync` runs the plan's sync.py.
- Knative (knative/serving 1.10/1.21 and knative-extensions/net-istio): a serverless
  endpoint's host ``<name>-predictor.<ns>.svc.cluster.local`` is an ExternalName of
  ``knative-local-gateway``, which routes (VirtualService on
  ``knative-serving/knative-local-gateway``) to the revision, reached through the
  activator whenever the revision is scaled to zero or short of burst capacity (Knative
  docs, "Configuring target burst capacity"): the pod sees the activator's identity.
  KServe exposes it on the Kubeflow gateway as ``<name>-<ns>.<ingressDomain>`` (kserve/kserve
  ``pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/ingress_reconciler.go``;
  Kubeflow's ``inferenceservice-config`` sets ``kubeflow/kubeflow-gateway`` and
  ``example.com``). A raw-deployment endpoint is a plain Deployment and Service
  ``<name>-predictor``.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
from typing import Any

import yaml

from mlplane.policy.access import kfp_sync
from mlplane.policy.access.paths import VIA

SECURITY = "security.istio.io/v1beta1"
GATEWAY = "kubeflow/kubeflow-gateway"


def _config(objects: list[Mapping[str, Any]], key: str, default: str) -> str:
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and key in (obj.get("data") or {}) and \
                obj["metadata"]["name"].startswith("profiles-config"):
            return str(obj["data"][key])
    return default


def _default_labels(objects: list[Mapping[str, Any]]) -> dict[str, str]:
    for obj in objects:
        text = (obj.get("data") or {}).get("namespace-labels.yaml") if obj.get("kind") == "ConfigMap" else None
        if text:
            return {k: str(v) for k, v in (yaml.safe_load(text) or {}).items() if v not in ("", None)}
    return {}


def _policy(name: str, namespace: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": SECURITY, "kind": "AuthorizationPolicy",
            "metadata": {"name": name, "namespace": namespace, **({"annotations": annotations} if annotations else {})},
            "spec": spec}


def _binding(name: str, namespace: str, role: str, subject: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [subject]}


def profile_objects(objects: list[Mapping[str, Any]], profile: str, owner: str) -> list[dict[str, Any]]:
    """What Kubeflow's profile controller creates for one Profile."""
    header = _config(objects, "USERID_HEADER", "kubeflow-userid")
    prefix = _config(objects, "USERID_PREFIX", "")
    gateway = _config(objects, "ISTIO_INGRESS_GATEWAY_PRINCIPAL",
                      "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account")
    ui = _config(objects, "KFP_UI_PRINCIPAL", "cluster.local/ns/kubeflow/sa/ml-pipeline-ui")
    notebooks = _config(objects, "NOTEBOOK_CONTROLLER_PRINCIPAL",
                        "cluster.local/ns/kubeflow/sa/notebook-controller-service-account")
    labels = {**_default_labels(objects), "istio-injection": "enabled"}
    user = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": owner}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": profile, "labels": labels,
                                                               "annotations": {"owner": owner}}},
        *({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": profile}}
          for sa in ("default-editor", "default-viewer")),
        _binding("default-editor", profile, "kubeflow-edit",
                 {"kind": "ServiceAccount", "name": "default-editor", "namespace": profile}),
        _binding("default-viewer", profile, "kubeflow-view",
                 {"kind": "ServiceAccount", "name": "default-viewer", "namespace": profile}),
        _binding("namespaceAdmin", profile, "kubeflow-admin", user),
        _policy("ns-owner-access-istio", profile, {"action": "ALLOW", "rules": [
            {"when": [{"key": f"request.headers[{header}]", "values": [prefix + owner]}],
             "from": [{"source": {"principals": [gateway, ui]}}]},
            {"when": [{"key": "source.namespace", "values": [profile]}]},
            {"to": [{"operation": {"paths": ["/healthz", "/metrics", "/wait-for-drain"]}}]},
            {"from": [{"source": {"principals": [notebooks]}}],
             "to": [{"operation": {"methods": ["GET"], "paths": ["*/api/kernels"]}}]},
        ]}, {"user": owner, "role": "admin"}),
    ]


def contributor_objects(objects: list[Mapping[str, Any]], profile: str, email: str, role: str) -> list[dict[str, Any]]:
    """What KFAM creates when an owner shares ``profile`` with ``email`` as ``role`` (edit/view)."""
    header = _config(objects, "USERID_HEADER", "kubeflow-userid")
    prefix = _config(objects, "USERID_PREFIX", "")
    gateway = _config(objects, "ISTIO_INGRESS_GATEWAY_PRINCIPAL",
                      "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account")
    ui = _config(objects, "KFP_UI_PRINCIPAL", "cluster.local/ns/kubeflow/sa/ml-pipeline-ui")
    name = "-".join(filter(None, "".join(c if c.isalnum() else "-" for c in f"user-{email}-clusterrole-{role}".lower()).split("-")))
    return [
        _binding(name, profile, f"kubeflow-{role}", {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": email}),
        _policy(name, profile, {"rules": [{"when": [{"key": f"request.headers[{header}]", "values": [prefix + email]}],
                                           "from": [{"source": {"principals": [gateway, ui]}}]}]},
                {"user": email, "role": role}),
    ]


def _pod_owner(kind: str, name: str, namespace: str, labels: dict[str, str], port: int, sa: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": {
                "serviceAccountName": sa, "containers": [{"name": "main", "ports": [{"containerPort": port}]}]}}}}


def _service(name: str, namespace: str, selector: dict[str, str], port: int, target: int,
             annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, **({"annotations": annotations} if annotations else {})},
            "spec": {"selector": selector, "ports": [{"port": port, "targetPort": target}]}}


def _route(name: str, namespace: str, prefix: str, host: str, gateway: str = GATEWAY, hosts: tuple[str, ...] = ("*",)) -> dict[str, Any]:
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"hosts": list(hosts), "gateways": [gateway], "http": [
                {"match": [{"uri": {"prefix": prefix}}], "route": [{"destination": {"host": host, "port": {"number": 80}}}]}]}}


def notebook_objects(namespace: str, name: str) -> list[dict[str, Any]]:
    """The notebook controller's StatefulSet, Service and route of a Notebook."""
    labels = {"statefulset": name, "notebook-name": name}
    return [_pod_owner("StatefulSet", name, namespace, labels, 8888, "default-editor"),
            _service(name, namespace, {"statefulset": name}, 80, 8888),
            _route(f"notebook-{namespace}-{name}", namespace, f"/notebook/{namespace}/{name}/",
                   f"{name}.{namespace}.svc.cluster.local")]


def tensorboard_objects(namespace: str, name: str) -> list[dict[str, Any]]:
    """The TensorBoard controller's Deployment, Service and route of a Tensorboard."""
    return [_pod_owner("Deployment", name, namespace, {"app": name}, 6006, "default-editor"),
            _service(name, namespace, {"app": name}, 80, 6006),
            _route(f"tensorboard-{namespace}-{name}", namespace, f"/tensorboard/{namespace}/{name}/",
                   f"{name}.{namespace}.svc.cluster.local")]


def endpoint_objects(isvc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """KServe's and Knative's objects for an InferenceService (serverless or raw)."""
    name, namespace = isvc["metadata"]["name"], isvc["metadata"]["namespace"]
    mode = (isvc["metadata"].get("annotations") or {}).get("serving.kserve.io/deploymentMode", "Serverless")
    sa = ((isvc.get("spec") or {}).get("predictor") or {}).get("serviceAccountName") or "default"
    labels = {"serving.kserve.io/inferenceservice": name, "component": "predictor"}
    host = f"{name}-predictor"
    if mode == "RawDeployment":
        return [_pod_owner("Deployment", host, namespace, labels, 8080, sa),
                _service(host, namespace, labels, 80, 8080)]
    revision = f"{host}-00001"
    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": host, "namespace": namespace},
                "spec": {"type": "ExternalName", "externalName": "knative-local-gateway.istio-system.svc.cluster.local",
                         "ports": [{"port": 80}]}}
    return [_pod_owner("Deployment", f"{revision}-deployment", namespace, labels, 8012, sa),
            _service(f"{revision}-private", namespace, labels, 80, 8012, {VIA: "knative-serving/activator"}),
            external,
            {**_route(name, namespace, "/", "knative-local-gateway.istio-system.svc.cluster.local", GATEWAY,
                      (f"{name}-{namespace}.example.com",)), "spec": {
                "hosts": [f"{name}-{namespace}.example.com"], "gateways": [GATEWAY],
                "http": [{"rewrite": {"authority": f"{host}.{namespace}.svc.cluster.local"},
                          "route": [{"destination": {"host": "knative-local-gateway.istio-system.svc.cluster.local",
                                                     "port": {"number": 80}}}]}]}},
            _revision_headers(_route(f"{host}-mesh", namespace, "/", f"{revision}-private.{namespace}.svc.cluster.local",
                                     "knative-serving/knative-local-gateway",
                                     (f"{host}.{namespace}.svc.cluster.local", f"{host}.{namespace}", host)),
                              namespace, revision)]


def _revision_headers(route: dict[str, Any], namespace: str, revision: str) -> dict[str, Any]:
    """A Knative route's destination with the headers Knative's activator finds the revision by
    (knative/serving ``pkg/reconciler/route/resources/ingress.go``: ``AppendHeaders``, which
    net-istio turns into ``headers.request.set``)."""
    for entry in route["spec"]["http"]:
        for destination in entry["route"]:
            destination["headers"] = {"request": {"set": {"Knative-Serving-Namespace": namespace,
                                                          "Knative-Serving-Revision": revision}}}
    return route


def synthesize(objects: list[Mapping[str, Any]], extra_profiles: Mapping[str, str] = {},
               contributors: tuple[tuple[str, str, str], ...] = (),
               probes: Mapping[str, tuple[str, ...]] = {},
               s3_policies: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """Every run-time object for the plan's ``objects``.

    Args:
        objects: The plan's objects.
        extra_profiles: Profiles created at run time (through the dashboard/KFAM): name -> owner.
        contributors: ``(profile, email, role)`` shared at run time through KFAM.
        probes: Per profile, the kinds of probe workloads users create at run time there
            (``notebook``, ``tensorboard``, ``endpoint``), named ``probe``.
        s3_policies: Filled with each profile's S3 identity's allowed resources, where
            the KFP profile controller gives the namespace an identity of its own.
    """
    made: list[dict[str, Any]] = []
    profiles = {o["metadata"]["name"]: o["spec"]["owner"]["name"] for o in objects if o.get("kind") == "Profile"}
    profiles.update(extra_profiles)
    existing = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "Namespace"}
    for profile, owner in profiles.items():
        created = profile_objects(objects, profile, owner)
        # An adopted namespace keeps mlplane's object (and labels); else the controller's.
        namespace = existing.get(profile) or created[0]
        made += [o for o in created if o["kind"] != "Namespace" or profile not in existing]
        children, recorder = kfp_sync.sync_objects(objects, namespace)
        made += children
        for call, arguments in recorder.calls:
            if call == "put_user_policy" and s3_policies is not None:
                document = json.loads(arguments["PolicyDocument"])
                s3_policies[profile] = [r for st in document["Statement"] for r in st["Resource"]]
    for profile, email, role in contributors:
        made += contributor_objects(objects, profile, email, role)
    for obj in objects:
        kind, meta = obj.get("kind"), obj.get("metadata") or {}
        if kind == "Notebook":
            made += notebook_objects(meta["namespace"], meta["name"])
        elif kind == "Tensorboard":
            made += tensorboard_objects(meta["namespace"], meta["name"])
        elif kind == "InferenceService":
            made += endpoint_objects(obj)
    for profile, kinds in probes.items():
        if "notebook" in kinds:
            made += notebook_objects(profile, "probe")
        if "tensorboard" in kinds:
            made += tensorboard_objects(profile, "probe")
        if "endpoint" in kinds:
            made += endpoint_objects({"metadata": {"name": "probe", "namespace": profile}, "spec": {}})
    return made
