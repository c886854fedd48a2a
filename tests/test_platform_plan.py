"""The platform in the offline plan: each part's objects, and the ordering edges between them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from mlplane.components.sources import chart_location, directory_location, wrapped_location
from mlplane.components.platform.releases import RELEASES
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.infra.offline.render import render_config

from .conftest import load_stack, rendered

CHART = "kubernetes:helm.sh/v4:Chart"
DIRECTORY = "kubernetes:kustomize/v2:Directory"


def closure(plan: Plan, resource: PlanResource) -> set[str]:
    """Names of everything ``resource`` waits for, directly or through others.

    A resource registers only once its parent has, so it also waits for whatever its
    ancestors wait for.
    """
    by_urn = plan.by_urn()
    seen: set[str] = set()
    todo = list(resource.dependencies)
    parent = resource.parent
    while parent in by_urn:
        todo.extend(by_urn[parent].dependencies)
        parent = by_urn[parent].parent
    while todo:
        urn = todo.pop()
        if urn in seen:
            continue
        seen.add(urn)
        todo.extend(by_urn[urn].dependencies)
        parent = by_urn[urn].parent
        while parent in by_urn:
            todo.extend(by_urn[parent].dependencies)
            parent = by_urn[parent].parent
    return {by_urn[urn].name for urn in seen}


def waits_for(plan: Plan, name: str, *others: str) -> None:
    found = closure(plan, plan.named(name))
    missing = [other for other in others if other not in found]
    assert not missing, f"{name} does not wait for {missing}"


def names(resources: Iterable[PlanResource]) -> set[str]:
    return {r.name for r in resources}


def kind(plan: Plan, kind_: str) -> list[PlanResource]:
    return [r for r in plan if r.is_kubernetes_object and r.inputs.get("kind") == kind_]


@pytest.fixture(scope="module")
def onprem() -> Plan:
    return rendered("onprem")


def test_cert_manager_comes_before_everything_with_webhooks_or_certificates(onprem: Plan) -> None:
    waits_for(onprem, "platform-cert-manager-webhook-issuer", "platform-cert-manager-chart")
    issuer = onprem.named("platform-cert-manager-webhook-issuer")
    assert issuer.inputs["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}
    assert issuer.inputs["metadata"]["name"] == "kubeflow-self-signing-issuer"
    with_webhooks = [r.name for r in onprem if r.type in (CHART, DIRECTORY) and r.name.startswith("platform-apps-")]
    assert len(with_webhooks) >= 10
    for name in with_webhooks:
        waits_for(onprem, name, "platform-cert-manager-webhook-issuer")
    waits_for(onprem, "platform-cert-manager-ingress-cert", "platform-cert-manager-webhook-issuer",
              "ns-istio-system-ns")


def test_istio_installs_in_order_and_before_knative_and_kserve(onprem: Plan) -> None:
    waits_for(onprem, "platform-istio-cni", "platform-istio-base")
    waits_for(onprem, "platform-istio-istiod", "platform-istio-cni")
    waits_for(onprem, "platform-istio-gateway", "platform-istio-istiod")
    for name in ("platform-knative-serving", "platform-knative-local-gateway", "platform-apps-kserve-crds",
                 "platform-apps-kserve-controller"):
        waits_for(onprem, name, "platform-istio-istiod", "platform-istio-gateway")
    assert "platform-knative-serving" in closure(onprem, onprem.named("platform-knative-local-gateway"))


def test_knative_comes_before_kserve_and_crds_before_their_resources(onprem: Plan) -> None:
    waits_for(onprem, "platform-apps-kserve-crds", "platform-knative-serving", "platform-knative-local-gateway")
    waits_for(onprem, "platform-apps-kserve-controller", "platform-apps-kserve-crds")
    waits_for(onprem, "platform-apps-models-web-app-web-app", "platform-apps-kserve-controller")
    waits_for(onprem, "platform-apps-profiles-controller", "platform-apps-kubeflow-roles-roles")
    waits_for(onprem, "platform-profiles-team-vision-profile", "platform-apps-profiles-controller",
              "profile-team-vision-ns")
    # Istio custom resources wait for istiod, whose webhook validates them.
    for resource in onprem:
        if resource.inputs.get("apiVersion", "").endswith("istio.io/v1beta1"):
            waits_for(onprem, resource.name, "platform-istio-istiod", "platform-istio-base")
        if resource.inputs.get("apiVersion") == "cert-manager.io/v1":
            waits_for(onprem, resource.name, "platform-cert-manager-chart")


def test_raw_kserve_does_not_wait_for_knative() -> None:
    plan = rendered("dev")
    assert not [r for r in plan if r.name.startswith("platform-knative")]
    assert "platform-knative-serving" not in closure(plan, plan.named("platform-apps-kserve-crds"))
    controller = plan.named("platform-apps-kserve-controller")
    assert controller.inputs["values"]["kserve"]["controller"]["deploymentMode"] == "RawDeployment"


def test_mesh_is_strict_and_denies_by_default(onprem: Plan) -> None:
    peer = kind(onprem, "PeerAuthentication")
    assert [(p.inputs["metadata"], p.inputs["spec"]) for p in peer] == [
        ({"name": "default", "namespace": "istio-system"}, {"mtls": {"mode": "STRICT"}})]
    policies = {(p.inputs["metadata"]["namespace"], p.inputs["metadata"]["name"]): p.inputs.get("spec")
                for p in kind(onprem, "AuthorizationPolicy")}
    assert policies[("istio-system", "global-deny-all")] == {}
    assert policies[("istio-system", "istio-ingressgateway")]["rules"] == [{}]
    # No namespace admits another as a whole (tests/test_isolation.py checks every stack).
    assert ("kubeflow", "allow-platform-peers") not in policies
    assert policies[("auth", "allow-login-callers")]["rules"] == [{"from": [{"source": {"principals": [
        "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
        "cluster.local/ns/oauth2-proxy/sa/oauth2-proxy"]}}]}]
    gate = policies[("istio-system", "istio-ingressgateway-oauth2-proxy")]
    assert gate["action"] == "CUSTOM" and gate["provider"] == {"name": "oauth2-proxy"}
    # The login gate closes only once oauth2-proxy runs.
    waits_for(onprem, "platform-auth-login-gate", "platform-auth-oauth2-proxy", "platform-auth-dex")


def test_istiod_registers_oauth2_proxy_and_cni(onprem: Plan) -> None:
    values = onprem.named("platform-istio-istiod").inputs["values"]
    provider = values["meshConfig"]["extensionProviders"][0]
    assert provider["name"] == "oauth2-proxy"
    assert provider["envoyExtAuthzHttp"]["service"] == "oauth2-proxy.oauth2-proxy.svc.cluster.local"
    assert values["cni"]["enabled"] is True  # Istio 1.29's key (1.17's is istio_cni)
    assert onprem.named("platform-istio-cni").inputs["namespace"] == "istio-cni"
    gateway = onprem.named("platform-istio-gateway").inputs["values"]
    assert gateway["name"] == "istio-ingressgateway"


def test_gateway_serves_the_host_over_tls(onprem: Plan) -> None:
    gateways = {g.inputs["metadata"]["name"]: g.inputs for g in kind(onprem, "Gateway")}
    assert gateways["kubeflow-gateway"]["metadata"]["namespace"] == "kubeflow"
    [https] = gateways["kubeflow-gateway"]["spec"]["servers"]
    assert https["port"]["number"] == 443 and https["hosts"] == ["kubeflow.onprem.acme.example"]
    assert https["tls"]["credentialName"] == "kubeflow-ingress-tls"
    # Port 80 is its own Gateway; its one VirtualService redirects to HTTPS (acme_http.py: why).
    [http] = gateways["kubeflow-http"]["spec"]["servers"]
    assert http["port"]["number"] == 80 and "tls" not in http
    [redirect] = [v.inputs["spec"] for v in kind(onprem, "VirtualService") if v.inputs["metadata"]["name"] == "https-redirect"]
    assert redirect["gateways"] == ["kubeflow/kubeflow-http"]
    assert redirect["http"] == [{"match": [{"uri": {"prefix": "/"}}], "redirect": {"scheme": "https", "redirectCode": 301}}]
    cert = kind(onprem, "Certificate")[0].inputs
    assert cert["spec"]["dnsNames"] == ["kubeflow.onprem.acme.example"]
    # self-signed: the platform CA signs the host's certificate (the CA is self-signed).
    assert cert["spec"]["issuerRef"]["name"] == "mlplane-platform-ca"
    ca = onprem.named("platform-cert-manager-platform-ca").inputs["spec"]
    assert ca["isCA"] is True and ca["issuerRef"]["name"] == "kubeflow-self-signing-issuer"
    issuer = onprem.named("platform-cert-manager-platform-ca-issuer").inputs["spec"]
    assert issuer == {"ca": {"secretName": "mlplane-platform-ca"}}


def test_gke_uses_acme_and_an_upstream_provider() -> None:
    plan = rendered("gke")
    issuers = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in kind(plan, "ClusterIssuer")}
    assert issuers["mlplane-acme"]["acme"]["email"] == "platform-team@acme.example"
    assert kind(plan, "Certificate")[0].inputs["spec"]["issuerRef"]["name"] == "mlplane-acme"
    dex = plan.named("platform-auth-dex").inputs["values"]["config"]
    assert dex["connectors"][0]["config"]["clientSecret"] == "[secret]"
    assert dex["connectors"][0]["config"]["redirectURI"] == "https://kubeflow.ml.acme.example/dex/callback"
    assert plan.named("platform-istio-cni").inputs["values"]["global"] == {"platform": "gke"}


def test_every_release_source_is_installed_at_its_pinned_version(onprem: Plan) -> None:
    train = RELEASES["26.03"]
    charts = {r.inputs["chart"]: r.inputs["version"] for r in onprem.of_type(CHART)}
    directories = {directory_location(r.inputs["directory"]) for r in onprem.of_type(DIRECTORY)}
    for component in train.components.values():
        for source in component.sources:
            if source.kind == "chart":
                assert charts[chart_location(source.ref).chart] == source.version
            else:
                assert source.location in directories


def test_credentials_never_appear_in_plain_text() -> None:
    dev = rendered("dev")
    dex = dev.named("platform-auth-dex").inputs["values"]["config"]
    assert dex["staticPasswords"][0]["hash"] == "[secret]"
    assert dex["staticClients"][0]["secret"] == "[secret]"
    proxy = dev.named("platform-auth-oauth2-proxy").inputs["values"]["config"]
    assert proxy["clientSecret"] == proxy["cookieSecret"] == "[secret]"
    onprem = rendered("onprem")
    users = onprem.named("platform-auth-dex").inputs["values"]["config"]["staticPasswords"]
    assert [(u["email"], u["hash"]) for u in users] == [
        ("alice@acme.example", "[secret]"), ("bob@acme.example", "[secret]"), ("carol@acme.example", "[secret]")]
    text = onprem.to_json_text()
    assert "mlplane-onprem-alice-hash" not in text and "offline-secret-placeholder" not in text


def test_dev_needs_no_credentials() -> None:
    text = Path(__file__).resolve().parent.parent.joinpath("Pulumi.dev.yaml").read_text()
    assert "secure:" not in text
    plan = rendered("dev")
    password = plan.named("platform-auth-user-user@example.com")
    assert password.type == "random:index/randomPassword:RandomPassword"
    # Stacks that generated it by list position keep it (the alias names the old resource).
    assert password.aliases == (password.urn.replace("platform-auth-user-user@example.com", "platform-auth-user-0"),)


def test_namespaces_carry_their_pod_security_level_and_open_only_their_ports(onprem: Plan) -> None:
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"] for r in kind(onprem, "Namespace")}
    levels = {name: (m["labels"]["pod-security.kubernetes.io/enforce"], m["labels"]["pod-security.kubernetes.io/warn"])
              for name, m in namespaces.items()}
    # Upstream 26.03 enforces restricted on kubeflow (common/kubeflow-namespace/base/kubeflow/namespace.yaml).
    assert levels["kubeflow"] == ("restricted", "restricted")
    assert levels["team-vision"] == ("baseline", "restricted")
    assert levels["cert-manager"] == levels["auth"] == levels["oauth2-proxy"] == levels["istio-system"] \
        == ("restricted", "restricted")
    assert levels["istio-cni"] == ("privileged", "privileged")
    assert namespaces["team-vision"]["annotations"] == {"owner": "alice@acme.example"}
    assert namespaces["team-vision"]["labels"]["istio-injection"] == "enabled"
    ports = {r.inputs["metadata"]["namespace"]: [p["port"] for p in r.inputs["spec"]["ingress"][0]["ports"]]
             for r in kind(onprem, "NetworkPolicy") if r.inputs["metadata"]["name"] == "allow-open-ports"}
    assert ports == {"cert-manager": [10250], "kubeflow": [4443, 8443, 9443], "knative-serving": [8443],
                     "istio-system": [80, 443, 8080, 8443, 15012, 15017, 15021]}
    # Everything else is denied: every platform namespace has its default-deny policy.
    denied = {r.inputs["metadata"]["namespace"] for r in kind(onprem, "NetworkPolicy")
              if r.inputs["metadata"]["name"] == "default-deny-ingress"}
    assert set(namespaces) <= denied


def test_contributors_get_what_kfam_would_create(onprem: Plan) -> None:
    bindings = {r.inputs["metadata"]["name"]: r.inputs for r in kind(onprem, "RoleBinding")
                if r.inputs["metadata"]["namespace"] == "team-vision"}
    carol = bindings["user-carol-acme-example-clusterrole-view"]
    assert carol["roleRef"]["name"] == "kubeflow-view"
    assert carol["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                                  "name": "carol@acme.example"}]
    access = onprem.named("platform-profiles-team-vision-user-carol-acme-example-clusterrole-view-access")
    assert access.inputs["spec"]["rules"][0]["when"] == [
        {"key": "request.headers[kubeflow-userid]", "values": ["carol@acme.example"]}]
    # The header counts only from the gateway and the KFP UI (KFAM's principals), and a
    # viewer does not reach the profile's notebook servers.
    assert access.inputs["spec"]["rules"][0]["from"] == [{"source": {"principals": [
        "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
        "cluster.local/ns/kubeflow/sa/ml-pipeline-ui"]}}]
    assert access.inputs["spec"]["rules"][0]["to"] == [{"operation": {"notPaths": ["/notebook/team-vision/*"]}}]
    profile = onprem.named("platform-profiles-team-nlp-profile").inputs
    assert profile["spec"] == {"owner": {"kind": "User", "name": "bob@acme.example"}}


def test_existing_istio_and_cert_manager_are_used_not_installed(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.t.yaml"
    dev = (Path(__file__).resolve().parent.parent / "Pulumi.dev.yaml").read_text()
    marker = "      knative_serving: {enabled: false}\n"
    assert dev.count(marker) == 1
    auth = "  mlplane:auth:\n"
    assert dev.count(auth) == 1
    # With the cluster's own Istio, mlplane installs no gateway to expose: cluster-ip (which takes no node ports).
    gateway = "      mode: node-port\n      node_ports: {http: 30080, https: 30443}\n"
    assert dev.count(gateway) == 1
    dev = dev.replace(gateway, "      mode: cluster-ip\n")
    # An existing mesh must name the extension provider its config registers for oauth2-proxy.
    path.write_text(dev.replace(marker, marker + "      istio: {existing: true, traffic_redirection: cni}\n      cert_manager: {existing: true}\n")
                    .replace(auth, auth + "    oauth2_proxy: {mesh_provider: oauth2-proxy}\n"))
    plan = render_config(load_stack_file(path, stack="t"))
    assert not [r for r in plan.of_type(CHART) if r.name.startswith(("platform-istio", "platform-cert-manager"))]
    assert not [r for r in kind(plan, "Namespace") if r.inputs["metadata"]["name"] in ("istio-system", "cert-manager")]
    # Their custom resources are still declared, on the cluster's own CRDs.
    assert kind(plan, "PeerAuthentication") and kind(plan, "ClusterIssuer")
    waits_for(plan, "platform-apps-notebooks-controller", "platform-cert-manager-webhook-issuer", "platform-istio-mtls")


def test_plan_json_records_chart_and_directory_sources(onprem: Plan) -> None:
    entry = json.loads(onprem.to_json_text())["resources"]
    charts = [r for r in entry if r["type"] == CHART]
    assert charts and all(r["inputs"]["version"] for r in charts)
    directories = [r["inputs"]["directory"] for r in entry if r["type"] == DIRECTORY]
    # Each through its ordering wrapper (components/ordered_directory.py), which names the upstream location.
    assert directories and all(wrapped_location(d) for d in directories)
    assert all(directory_location(d).startswith("https://github.com/kubeflow/manifests//")
               and directory_location(d).endswith("?ref=26.03") for d in directories)


def test_a_stack_without_the_platform_keeps_only_its_namespaces(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text("config:\n  mlplane:cluster:\n    kind: local\n")
    plan = render_config(load_stack_file(path, stack="t"))
    assert not [r for r in plan if r.type.startswith("mlplane:platform:")]
    assert names(kind(plan, "Namespace")) == {"kubeflow-ns", "workloads-ns"}


def test_stack_configs_load_with_their_platform() -> None:
    for stack in ("dev", "onprem", "gke"):
        assert load_stack(stack).kubeflow is not None
