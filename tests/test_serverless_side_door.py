"""Serverless endpoints answer their own callers only, even through Knative's local gateway.

Issue 22, item 4: a namespace allowed (``allow_from``) to call one serverless endpoint reached
Knative's local gateway, whose plain-HTTP listener knew no caller, and through it every other
serverless endpoint. The gke and onprem stacks (and onprem on 1.8.1) declare a second
serverless endpoint whose ``allow_from`` is profile A, so the matrix has the cells
"pod in allow_from namespace of endpoint X -> serverless endpoint Y". Then mutations of a copy
of the expanded plan (the guard removed or altered) must flip a cell.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from mlplane.policy.access import matrix as matrix_mod
from mlplane.policy.access.scenario import world

from .access_plans import matrix, objects
from .conftest import load_stack

pytestmark = pytest.mark.usefixtures("expansion_scratch")

STACKS = ("gke", "onprem", "onprem@1.8.1")
PODS = ("pod in A", "pod in B")


def _serverless(plan: tuple[dict[str, Any], ...]) -> dict[str, str]:
    """The plan's serverless InferenceServices: name -> namespace."""
    return {o["metadata"]["name"]: o["metadata"]["namespace"] for o in plan if o.get("kind") == "InferenceService"
            and (o["metadata"].get("annotations") or {}).get("serving.kserve.io/deploymentMode", "Serverless")
            == "Serverless"}


def _target(name: str, namespace: str) -> str:
    return f"mlplane {name}-predictor.{namespace}.svc.cluster.local"


def side_door_cells(stack: str) -> list[tuple[str, str, str]]:
    """``(persona, X's target, Y's target)``: the persona's namespace is in X's allow_from, not Y's."""
    config = load_stack(stack.split("@", 1)[0])
    m = matrix(stack)
    namespace_of = {"pod in A": m.people.a, "pod in B": m.people.b}
    endpoints = _serverless(objects(stack))
    declared = {e.name: e for e in (config.serving.endpoints if config.serving else ())}
    cells = []
    for x, spec in declared.items():
        for y, y_namespace in endpoints.items():
            callers_y = {y_namespace, *(declared[y].allow_from if y in declared else ())}
            for persona in PODS:
                if namespace_of[persona] in spec.allow_from and namespace_of[persona] not in callers_y:
                    cells.append((persona, _target(x, endpoints[x]), _target(y, y_namespace)))
    return cells


@pytest.mark.parametrize("stack", STACKS)
def test_allow_from_of_one_endpoint_reaches_no_other(stack: str) -> None:
    m = matrix(stack)
    cells = side_door_cells(stack)
    assert cells, f"{stack} declares a serverless endpoint whose allow_from is a persona's namespace"
    for persona, own, other in cells:
        assert m.cell(persona, own).verdict.allowed, (persona, own, m.cell(persona, own).verdict.reason)
        assert not m.cell(persona, other).verdict.allowed, (persona, other, m.cell(persona, other).verdict.reason)


# --- mutations of a copy of the expanded plan ----------------------------------------------------

Mutation = Callable[[list[dict[str, Any]], str], None]


def _objects_named(objs: list[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    return [o for o in objs if o.get("kind") == kind and o["metadata"]["name"] == name]


def _guard(objs: list[dict[str, Any]], victim: str) -> dict[str, Any]:
    (guard,) = [o for o in _objects_named(objs, "AuthorizationPolicy", f"mlplane-{victim}-callers-only")
                if o["metadata"]["namespace"] == "istio-system"]  # the activator's DENY shares the name
    return guard


def _drop_guard(objs: list[dict[str, Any]], victim: str) -> None:
    guard = _guard(objs, victim)
    objs[:] = [o for o in objs if o is not guard]


def _hosts_without_ports(objs: list[dict[str, Any]], victim: str) -> None:
    operation = _guard(objs, victim)["spec"]["rules"][0]["to"][0]["operation"]
    operation["hosts"] = [h for h in operation["hosts"] if not h.endswith(":*")]


def _guard_admits_the_intruder(objs: list[dict[str, Any]], victim: str, intruder: str = "") -> None:
    source = _guard(objs, victim)["spec"]["rules"][0]["from"][0]["source"]
    source["notNamespaces"] = [*source["notNamespaces"], intruder]


def _guard_off_the_gateway(objs: list[dict[str, Any]], victim: str) -> None:
    _guard(objs, victim)["spec"]["selector"] = {"matchLabels": {"istio": "ingressgateway"}}


def _plain_listener(objs: list[dict[str, Any]], victim: str) -> None:
    (gateway,) = _objects_named(objs, "Gateway", "knative-local-gateway")
    for server in gateway["spec"]["servers"]:
        server.pop("tls", None)
        server["port"].update(protocol="HTTP", name="http")


def _no_destination_rule(objs: list[dict[str, Any]], victim: str) -> None:
    objs[:] = [o for o in objs if not _objects_named([o], "DestinationRule", "knative-local-gateway-mtls")]


def _upstream(objs: list[dict[str, Any]], victim: str) -> None:
    """Everything this fix added, taken away at once: the state before it."""
    for mutate in (_plain_listener, _no_destination_rule):
        mutate(objs, victim)
    objs[:] = [o for o in objs if not (o.get("kind") == "AuthorizationPolicy"
                                       and o["metadata"]["name"].endswith("-callers-only")
                                       and o["metadata"]["namespace"] == "istio-system")]


#: mutation -> which cell must flip: "side door" (the intruder gets in) or "caller" (X's own caller is locked out).
MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "guard removed": (_drop_guard, "side door"),
    "guard without the host:port forms": (_hosts_without_ports, "side door"),
    "guard admits the intruder's namespace": (_guard_admits_the_intruder, "side door"),
    "guard selects another gateway": (_guard_off_the_gateway, "side door"),
    "all of the fix removed (upstream)": (_upstream, "side door"),
    "local gateway listener back to plain HTTP": (_plain_listener, "caller"),
    "no DestinationRule: clients send plain text": (_no_destination_rule, "caller"),
}


def _cell(objs: list[dict[str, Any]], persona: str, target: str) -> bool:
    w, who = world(objs)
    (found,) = [t for t in matrix_mod.targets(w, who) if t.name == target]
    return matrix_mod._evaluate(w, persona, found, who).allowed


@pytest.mark.parametrize("stack", ("gke", "onprem@1.8.1"))
@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_side_door_mutation_is_killed(stack: str, kind: str) -> None:
    persona, own, other = side_door_cells(stack)[0]
    victim = other.split(" ", 1)[1].split("-predictor.", 1)[0]
    mutate, flips = MUTATIONS[kind]
    objs = copy.deepcopy([dict(o) for o in objects(stack)])
    assert not _cell(objs, persona, other) and _cell(objs, persona, own), "the unmutated plan holds"
    if mutate is _guard_admits_the_intruder:
        _guard_admits_the_intruder(objs, victim, matrix(stack).people.a if persona == "pod in A" else matrix(stack).people.b)
    else:
        mutate(objs, victim)
    if flips == "side door":
        assert _cell(objs, persona, other), f"{stack}: {kind}: {persona} -> {other} still denied"
    else:
        assert not _cell(objs, persona, own), f"{stack}: {kind}: {persona} -> {own} still allowed"


@pytest.mark.parametrize("stack", STACKS)
def test_the_local_gateway_listener_is_istio_mtls_with_clients_that_speak_it(stack: str) -> None:
    """Upstream's plain-HTTP 8081 server, switched on both trains; Knative's prober never probed it."""
    plan = objects(stack)
    (gateway,) = [o for o in plan if o.get("kind") == "Gateway" and o["metadata"]["name"] == "knative-local-gateway"]
    (server,) = gateway["spec"]["servers"]
    assert server["port"]["number"] == 8081 and server["port"]["protocol"] == "HTTPS"
    assert server["tls"] == {"mode": "ISTIO_MUTUAL"}
    (rule,) = [o for o in plan if o.get("kind") == "DestinationRule" and o["spec"]["host"] ==
               "knative-local-gateway.istio-system.svc.cluster.local"]
    assert rule["spec"]["trafficPolicy"] == {"tls": {"mode": "ISTIO_MUTUAL"}}
    # net-istio probes a server only through a Service port of its number among the Services
    # labelled like the Gateway's selector (pkg/reconciler/ingress/lister.go): none has 8081.
    selector = gateway["spec"]["selector"]
    labelled = [o for o in plan if o.get("kind") == "Service" and all(
        (o["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())]
    assert labelled and not [p for s in labelled for p in s["spec"]["ports"] if p["port"] == 8081]
