"""Login and tenant isolation over the expanded plans: the gateway's DENY, identities, no namespace-wide ALLOW.

Pure tests over plans (the shipped stacks, offline) and, where upstream objects matter
(principals, the gateway's ServiceAccount, the profile controller's environment), over
both release trains expanded from the pinned sources. The access matrix over every
persona and target is issue 22 item 9 (another helper's evaluator); these tests pin the
kinds this change fixes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlplane.components.platform.gateway_guard import require_jwt_rules, strip_headers_spec
from mlplane.infra.cli import main
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.render import render_config

from .conftest import ROOT, STACKS, rendered
from .expansion import RELEASES, expanded, needs_upstream

GATEWAY_PRINCIPAL = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "Pod")


def objects(plan: Plan, kind: str | None = None) -> list[dict[str, Any]]:
    """The Kubernetes objects of a plan (declared and expanded), optionally of one kind."""
    found = [r.inputs for r in plan.resources
             if isinstance(r.inputs, dict) and "kind" in r.inputs and "metadata" in r.inputs]
    return [o for o in found if kind is None or o["kind"] == kind]


# --- The gateway's DENY, read as Istio reads a DENY rule -----------------------------------
# A rule matches when every field of it does; a negative field (notPaths, ...) matches
# when the value is in none of its entries; a DENY policy denies when any rule matches
# (istio.io "Authorization Policy" reference: Rule, Source, Operation; "DENY").

def _value_matches(pattern: str, value: str) -> bool:
    # Istio's string match: exact, "*", prefix "abc*", suffix "*abc" (istio/istio
    # pilot/pkg/security/authz/model/matcher: StringMatcherWithPrefix).
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _field(operation: dict[str, Any], key: str, value: str) -> bool:
    positive, negative = operation.get(key), operation.get("not" + key[0].upper() + key[1:])
    if positive is not None and not any(_value_matches(p, value) for p in positive):
        return False
    return not (negative is not None and any(_value_matches(p, value) for p in negative))


def denied(rules: list[dict[str, Any]], *, path: str, method: str = "GET", port: int = 443,
           host: str = "kubeflow.example.com", principal: str | None = None) -> bool:
    """Whether the gateway's DENY rules refuse a request."""
    for rule in rules:
        sources = [f["source"] for f in rule.get("from", [])]
        if sources and not any(
                (principal is None) == bool(s.get("notRequestPrincipals")) for s in sources):
            continue
        operations = [t["operation"] for t in rule.get("to", [])]
        if operations and not any(
                _field(op, "paths", path) and _field(op, "methods", method) and _field(op, "ports", str(port))
                and _field(op, "hosts", host) for op in operations):
            continue
        return True
    return False


@pytest.mark.parametrize(("request_", "refused"), [
    ({"path": "/pipeline/"}, True),
    ({"path": "/pipeline/", "principal": "dex/alice"}, False),
    ({"path": "/dex/auth"}, False),
    ({"path": "/oauth2/callback"}, False),
    ({"path": "/.well-known/acme-challenge/token", "port": 80}, False),
    ({"path": "/.well-known/acme-challenge/token", "port": 80, "method": "POST"}, True),
    ({"path": "/.well-known/acme-challenge/token", "port": 443}, True),
    ({"path": "/.well-known/acme-challenge/token", "port": 80, "method": "HEAD"}, True),
    ({"path": "/jupyter/", "port": 80}, True),
    ({"path": "/", "host": "demo.example.com"}, False),
    ({"path": "/", "host": "demo.example.com:8443"}, False),
    ({"path": "/jupyter/", "host": "other.example.com"}, True),
])
def test_the_gateway_refuses_every_request_without_a_verified_token_outside_the_exemptions(
        request_: dict[str, Any], refused: bool) -> None:
    # The login bypass (`Authorization: x`) is a request without a request principal: refused.
    assert denied(require_jwt_rules(("demo.example.com",)), **request_) is refused


def test_client_identity_headers_are_stripped_before_login_and_token_checks() -> None:
    patch = strip_headers_spec({"istio": "ingressgateway"})["configPatches"][0]
    assert patch["match"]["context"] == "GATEWAY"
    assert patch["patch"]["operation"] == "INSERT_FIRST"
    code = patch["patch"]["value"]["typed_config"]["defaultSourceCode"]["inlineString"]
    assert 'remove("kubeflow-userid")' in code and 'remove("kubeflow-groups")' in code
    assert "strict-transport-security" in code and "ssl()" in code


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_guards_its_gateway(stack: str) -> None:
    plan = rendered(stack)
    policies = {(o["metadata"]["namespace"], o["metadata"]["name"]): o["spec"]
                for o in objects(plan, "AuthorizationPolicy")}
    deny = policies[("istio-system", "istio-ingressgateway-require-jwt")]
    assert deny["action"] == "DENY" and deny["rules"] == require_jwt_rules(_public_hosts(plan))
    assert [f["metadata"]["name"] for f in objects(plan, "EnvoyFilter")] == ["strip-client-identity-headers"]
    (jwt,) = [o["spec"]["jwtRules"][0] for o in objects(plan, "RequestAuthentication")]
    assert jwt["forwardOriginalToken"] is False and jwt["audiences"] == ["kubeflow-oidc-authservice"]
    gate = policies[("istio-system", "istio-ingressgateway-oauth2-proxy")]
    assert "/.well-known/acme-challenge/*" in gate["rules"][0]["to"][0]["operation"]["notPaths"]


def _public_hosts(plan: Plan) -> tuple[str, ...]:
    login = {o["metadata"]["name"] for o in objects(plan, "AuthorizationPolicy") if o["spec"].get("action") == "CUSTOM"}
    # The platform's own Gateways (its TLS one, and port 80's, which redirects to it) serve no public host.
    platform = {"kubeflow-gateway", "kubeflow-http"}
    hosts = {s["hosts"][0] for g in objects(plan, "Gateway") if g["metadata"]["name"] not in platform
             for s in g["spec"]["servers"]}
    return tuple(sorted(h for h in hosts if f"{h.replace('.', '-')}-login" not in login))


# --- No namespace-wide ALLOW ---------------------------------------------------------------

def _admits_another_namespace_wholesale(policy: dict[str, Any]) -> bool:
    spec, namespace = policy["spec"], policy["metadata"]["namespace"]
    if spec.get("action", "ALLOW") != "ALLOW" or spec.get("selector") or namespace == "istio-system":
        return False
    for rule in spec.get("rules") or []:
        sources = [f.get("source", {}) for f in rule.get("from", [])]
        if not sources and not rule.get("when"):
            return True  # admits every caller
        for source in sources:
            if set(source.get("namespaces", ())) - {namespace} and not source.get("principals"):
                return True
    return False


@pytest.mark.parametrize("stack", STACKS)
def test_no_policy_admits_a_namespace_as_a_whole(stack: str) -> None:
    plan = rendered(stack)
    wide = [p["metadata"] for p in objects(plan, "AuthorizationPolicy") if _admits_another_namespace_wholesale(p)]
    assert wide == []
    # NetworkPolicies over a whole namespace let other namespaces' pods in only narrowed to pods.
    for policy in objects(plan, "NetworkPolicy"):
        if policy["spec"].get("podSelector"):
            continue
        for rule in policy["spec"].get("ingress") or []:
            for peer in rule.get("from") or []:
                if "namespaceSelector" in peer:
                    assert peer.get("podSelector"), policy["metadata"]


def test_kubeflow_admits_profiles_only_at_upstreams_backends_and_the_webhook_only_from_metacontroller() -> None:
    plan = rendered("onprem")
    policies = {o["metadata"]["name"]: o["spec"] for o in objects(plan, "NetworkPolicy")
                if o["metadata"]["namespace"] == "kubeflow"}
    rules = {name: (spec.get("ingress") or [{}])[0] for name, spec in policies.items()}
    from_profiles = {name: (policies[name]["podSelector"], [p["port"] for p in rule.get("ports", [])])
                     for name, rule in rules.items()
                     if any("app.kubernetes.io/part-of" in str(peer) for peer in rule.get("from", []))}
    assert from_profiles["allow-profiles-to-kfp-api"] == ({"matchLabels": {"app": "ml-pipeline"}}, [8888, 8887])
    assert all(ports for _, ports in from_profiles.values())  # never every port
    internal = policies["allow-internal-ingress"]["podSelector"]["matchExpressions"]
    assert internal == [{"key": "app", "operator": "NotIn", "values": ["kubeflow-pipelines-profile-controller"]}]
    hook = policies["allow-kfp-profile-controller-hook"]
    assert hook["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app": "metacontroller"}}}]}]


def test_serverless_endpoints_keep_their_callers_at_knatives_forwarders() -> None:
    plan = rendered("onprem")
    allow = next(o for o in objects(plan, "AuthorizationPolicy") if o["metadata"]["name"] == "mnist-allow")
    sources = [f["source"] for r in allow["spec"]["rules"] for f in r["from"]]
    assert {"namespaces": ["mlplane"]} in sources
    assert not any(set(s.get("namespaces", ())) & {"istio-system", "knative-serving"} for s in sources)
    deny = next(o for o in objects(plan, "AuthorizationPolicy") if o["metadata"]["name"] == "mlplane-mnist-callers-only")
    assert deny["metadata"]["namespace"] == "knative-serving" and deny["spec"]["action"] == "DENY"
    gateway = next(o for o in objects(plan, "NetworkPolicy") if o["metadata"]["name"] == "mlplane-mnist-local-gateway")
    assert gateway["spec"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mlplane"}}}]
    workloads = next(o for o in objects(plan, "Namespace") if o["metadata"]["name"] == "mlplane")
    assert workloads["metadata"]["labels"]["istio-injection"] == "enabled"


# --- Identities named by policies are identities the plan runs ------------------------------

def _identities(plan: Plan) -> set[str]:
    found = set()
    for obj in objects(plan):
        if obj["kind"] not in WORKLOAD_KINDS:
            continue
        spec = obj.get("spec") or {}
        pod = spec if obj["kind"] == "Pod" else spec.get("template", {}).get("spec", {})
        namespace = obj["metadata"].get("namespace", "default")
        found.add(f"cluster.local/ns/{namespace}/sa/{pod.get('serviceAccountName') or 'default'}")
    return found


def _named_principals(plan: Plan) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for policy in objects(plan, "AuthorizationPolicy"):
        where = f"{policy['metadata']['namespace']}/{policy['metadata']['name']}"
        for rule in policy["spec"].get("rules") or []:
            for source in (f.get("source", {}) for f in rule.get("from", [])):
                for principal in (*source.get("principals", ()), *source.get("notPrincipals", ())):
                    named.setdefault(principal, []).append(where)
    for obj in objects(plan, "Deployment"):
        for container in (obj.get("spec") or {}).get("template", {}).get("spec", {}).get("containers", []):
            for env in container.get("env") or []:
                if env.get("name", "").endswith("_PRINCIPAL") and "value" in env:
                    named.setdefault(env["value"], []).append(f"{obj['metadata']['name']} env {env['name']}")
    # The profile controller and KFAM read theirs from a generated ConfigMap (envFrom).
    for config_map in objects(plan, "ConfigMap"):
        for key, value in (config_map.get("data") or {}).items():
            if key.endswith("_PRINCIPAL"):
                named.setdefault(value, []).append(f"ConfigMap {config_map['metadata']['name']} {key}")
    return named


@needs_upstream
@pytest.mark.usefixtures("expansion_scratch")
@pytest.mark.parametrize("release", RELEASES)
def test_every_principal_a_policy_names_is_a_workload_the_plan_runs(release: str) -> None:
    plan = expanded(release).plan
    identities = _identities(plan)
    named = _named_principals(plan)
    assert GATEWAY_PRINCIPAL in identities  # the gateway runs as the identity upstream names
    assert {p: w for p, w in named.items() if p not in identities} == {}
    # The profile controller (and KFAM) admit owners through the gateway it runs as.
    assert any("ISTIO_INGRESS_GATEWAY_PRINCIPAL" in w for p, where in named.items() if p == GATEWAY_PRINCIPAL
               for w in where)


@needs_upstream
@pytest.mark.usefixtures("expansion_scratch")
@pytest.mark.parametrize("release", RELEASES)
def test_only_the_login_namespaces_get_mlplanes_allow_and_upstreams_own_stay(release: str) -> None:
    plan = expanded(release).plan
    wide = [p["metadata"] for p in objects(plan, "AuthorizationPolicy") if _admits_another_namespace_wholesale(p)]
    assert wide == []


# --- Bad input ---------------------------------------------------------------------------

def _stack(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (ROOT / f"Pulumi.{name}.yaml").read_text()
    assert text.count(old) == 1, old
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(("name", "old", "new", "key"), [
    # An exposed gateway without an authenticator.
    ("onprem", "    gateway:\n", "    components: {oauth2_proxy: {enabled: false}}\n    gateway:\n",
     "mlplane:kubeflow.components.oauth2_proxy.enabled"),
    # An exposed gateway over plain HTTP, without opting in.
    ("dev", "    ingress: {cleartext: true}\n", "", "mlplane:kubeflow.ingress.tls"),
    # Every account of an upstream provider, without opting in.
    ("gke", "      email_domains: [acme.example]\n", "      email_domains: ['*']\n",
     "mlplane:auth.oauth2_proxy.email_domains"),
])
def test_exposing_the_platform_without_login_tls_or_named_accounts_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, old: str, new: str, key: str) -> None:
    path = _stack(tmp_path, name, old, new)
    out = tmp_path / "out"
    assert main(["render", "--config-file", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert path.name in err and key in err and "allowed" in err
    assert not out.exists()


def test_a_public_host_without_a_platform_host_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "Pulumi.dev.yaml").read_text() + (
        "  mlplane:serving:\n    web_apps:\n      - name: demo\n        image: nginxinc/nginx-unprivileged:1.27\n"
        "        port: 8080\n        host: demo.localtest.me\n        public: true\n        allow_from: [nobody]\n")
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(text)
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "mlplane:serving.web_apps[0].public" in err and "Kubeflow's routes" in err
    assert "mlplane:serving.web_apps[0].allow_from[0]" in err and "nobody" in err


def test_dev_serves_cleartext_only_because_it_says_so() -> None:
    config = load_stack_file(ROOT / "Pulumi.dev.yaml", stack="dev")
    assert config.kubeflow is not None and config.kubeflow.ingress.cleartext
    assert config.kubeflow.gateway.mode == "node-port"
    assert render_config(config)  # renders


# --- Who may call an endpoint or app -----------------------------------------------------

_APP = ("  mlplane:serving:\n    web_apps:\n      - name: demo\n        image: nginxinc/nginx-unprivileged:1.27\n"
        "        port: 8080\n        host: demo.localtest.me\n")


def test_an_app_names_its_callers_and_the_gateway_refuses_everyone_else(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text((ROOT / "Pulumi.dev.yaml").read_text() + _APP + "        profiles: [kubeflow-user-example-com]\n"
                    "        users: [ops@example.com]\n")
    plan = render_config(load_stack_file(path, stack="dev"))
    (policy,) = [o for o in objects(plan, "AuthorizationPolicy") if o["metadata"]["name"] == "demo-localtest-me-audience"]
    assert policy["metadata"]["namespace"] == "istio-system" and policy["spec"]["action"] == "DENY"
    (rule,) = policy["spec"]["rules"]
    assert rule["to"][0]["operation"]["hosts"] == ["demo.localtest.me", "demo.localtest.me:*"]
    # The profile's owner and the named user; everyone else with a valid token is refused.
    assert rule["when"] == [{"key": "request.auth.claims[email]", "notValues": ["ops@example.com", "user@example.com"]}]


@pytest.mark.parametrize(("extra", "key", "value"), [
    ("        groups: [ml-team]\n", "mlplane:serving.web_apps[0].groups[0]", "ml-team"),
    ("        profiles: [team-elsewhere]\n", "mlplane:serving.web_apps[0].profiles[0]", "team-elsewhere"),
])
def test_callers_that_name_nothing_the_stack_declares_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, key: str, value: str) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text((ROOT / "Pulumi.dev.yaml").read_text() + _APP + extra)
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert key in err and value in err and "Pulumi.dev.yaml" in err
    assert not (tmp_path / "out").exists()


def test_a_host_that_names_no_callers_outside_a_profile_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22 item 5: "every account that may log in" is never a silent default."""
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text((ROOT / "Pulumi.dev.yaml").read_text() + _APP)
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.dev.yaml" in err and "mlplane:serving.web_apps[0].host" in err and "demo.localtest.me" in err
    assert "any_account: true" in err and "users, groups or profiles" in err
    assert not (tmp_path / "out").exists()


def test_a_host_in_a_profile_admits_that_profiles_members_by_default(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text((ROOT / "Pulumi.dev.yaml").read_text() + _APP + "        namespace: kubeflow-user-example-com\n")
    config = load_stack_file(path, stack="dev")
    (profile,) = [p for p in config.kubeflow.profiles if p.name == "kubeflow-user-example-com"]
    members = sorted({profile.owner, *(c.email for c in profile.contributors)})
    (policy,) = [o for o in objects(render_config(config), "AuthorizationPolicy")
                 if o["metadata"]["name"] == "demo-localtest-me-audience"]
    assert policy["spec"]["rules"][0]["when"] == [{"key": "request.auth.claims[email]", "notValues": members}]


def test_every_account_is_an_explicit_opt_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text((ROOT / "Pulumi.dev.yaml").read_text() + _APP + "        any_account: true\n")
    plan = render_config(load_stack_file(path, stack="dev"))
    assert not [o for o in objects(plan, "AuthorizationPolicy") if o["metadata"]["name"] == "demo-localtest-me-audience"]
    assert [o for o in objects(plan, "AuthorizationPolicy") if o["metadata"]["name"] == "demo-localtest-me-login"]
    # Opting into everyone and naming callers contradict each other.
    path.write_text((ROOT / "Pulumi.dev.yaml").read_text() + _APP + "        any_account: true\n"
                    "        users: [ops@example.com]\n")
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "mlplane:serving.web_apps[0]" in err and "any_account" in err


# --- Pod Security and run-time profiles ----------------------------------------------------

def test_run_time_profiles_are_refused_by_the_api_server_unless_declared() -> None:
    # Judged on the real control plane too (docs/security.md): an undeclared Profile is
    # Forbidden by this policy, a declared one is created.
    plan = rendered("onprem")
    (policy,) = objects(plan, "ValidatingAdmissionPolicy")
    (check,) = policy["spec"]["validations"]
    assert check["expression"] == "object.metadata.name in ['team-nlp', 'team-vision']"
    assert policy["spec"]["matchConstraints"]["resourceRules"][0]["operations"] == ["CREATE"]
    (binding,) = objects(plan, "ValidatingAdmissionPolicyBinding")
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}


@pytest.mark.parametrize(("release", "kubeflow", "istio"), [("26.03", "restricted", "restricted"),
                                                           ("1.8.1", "baseline", "baseline")])
def test_pod_security_is_at_least_upstreams_on_each_train(tmp_path: Path, release: str, kubeflow: str,
                                                          istio: str) -> None:
    text = (ROOT / "Pulumi.onprem.yaml").read_text().replace('release: "26.03"', f'release: "{release}"')
    path = tmp_path / "Pulumi.onprem.yaml"
    path.write_text(text)
    plan = render_config(load_stack_file(path, stack="onprem"))
    levels = {o["metadata"]["name"]: o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
              for o in objects(plan) if o["kind"] in ("Namespace", "NamespacePatch")}
    assert levels["kubeflow"] == kubeflow and levels["istio-system"] == istio
    assert levels["knative-serving"] == kubeflow
    gateway = plan.named("platform-istio-gateway").inputs["values"]
    assert gateway["serviceAccount"] == {"name": "istio-ingressgateway-service-account"}
    assert gateway["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("stack", STACKS)
def test_tenant_pods_cannot_reach_the_instance_metadata_endpoint_except_on_gke(stack: str) -> None:
    plan = rendered(stack)
    blocked = {o["metadata"]["namespace"] for o in objects(plan, "NetworkPolicy")
               if o["metadata"]["name"] == "deny-cloud-metadata-egress"}
    config = load_stack_file(ROOT / f"Pulumi.{stack}.yaml", stack=stack)
    tenants = {config.cluster.workload_namespace, *(p.name for p in config.kubeflow.profiles)}
    assert blocked == (set() if config.cluster.kind == "gke" else tenants)
    for policy in objects(plan, "NetworkPolicy"):
        if policy["metadata"]["name"] == "deny-cloud-metadata-egress":
            (rule,) = policy["spec"]["egress"]
            assert rule["to"][0] == {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}


def test_a_profiles_notebooks_answer_its_owner_and_editors_only() -> None:
    plan = rendered("onprem")
    policy = next(o for o in objects(plan, "AuthorizationPolicy")
                  if o["metadata"] == {"name": "notebooks-declared-editors-only", "namespace": "team-vision"})
    (rule,) = policy["spec"]["rules"]
    assert policy["spec"]["action"] == "DENY"
    assert rule["from"] == [{"source": {"principals": [GATEWAY_PRINCIPAL,
                                                       "cluster.local/ns/kubeflow/sa/ml-pipeline-ui"]}}]
    assert rule["to"] == [{"operation": {"paths": ["/notebook/team-vision/*"]}}]
    # alice owns team-vision, bob edits it; carol (view) and anyone KFAM adds at run time do not pass.
    assert rule["when"] == [{"key": "request.headers[kubeflow-userid]",
                             "notValues": ["alice@acme.example", "bob@acme.example"]}]
