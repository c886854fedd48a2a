"""Self-hosted nodes keep the taints others set: mlplane patches labels only; its taints are a checked prerequisite.

Judged by a real API server (``../shared/k8s``): ``NodeSpec.taints`` is served as an
atomic list; mlplane's NodePatch, applied twice the way pulumi-kubernetes applies a
Patch resource (server-side apply under its own field manager, forced by
``pulumi.com/patchForce``), leaves a foreign taint in place; the prerequisite's
``kubectl taint`` command adds the pool's taint beside it and its check then passes.
The patch as mlplane declared it before (taints in it, forced) drops the foreign taint.
"""

from __future__ import annotations

import copy

from mlplane.infra.offline.plan import Plan
from mlplane.infra.prerequisites import prerequisites

from . import controlplane
from .conftest import load_stack, rendered

NODE = "gpu-a100-01"


def _patch(plan: Plan, node: str) -> dict:
    return next(r.inputs for r in plan if r.type == "kubernetes:core/v1:NodePatch"
                and r.inputs["metadata"]["name"] == node)


def test_node_patches_set_labels_only_and_every_named_node_has_a_taint_prerequisite() -> None:
    config = load_stack("onprem")
    plan = rendered("onprem")
    named = [(pool, node) for pool in config.accelerators.pools if pool.nodes and pool.nodes.names
             for node in pool.nodes.names]
    items = {i.name: i for i in prerequisites(config)}
    for pool, node in named:
        patch = _patch(plan, node)
        assert "spec" not in patch and patch["metadata"]["labels"]["mlplane.dev/accelerator-pool"] == pool.name
        item = items[f"taints of node {node}"]
        for taint in pool.effective_taints:
            assert f"{taint.key}={taint.value}:{taint.effect}" in item.install
            assert f"grep -qxF '{taint.key}={taint.value}:{taint.effect}'" in item.check


def test_a_foreign_taint_survives_the_patch_applied_twice_and_the_prerequisite() -> None:
    patch = _patch(rendered("onprem"), NODE)
    item = next(i for i in prerequisites(load_stack("onprem")) if i.name == f"taints of node {NODE}")
    old = copy.deepcopy(patch)  # as declared before: the pool's taints in the forced patch
    old["spec"] = {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}}
    taints = "kubectl get node %s -o jsonpath='{.spec.taints[*].key}{\"\\n\"}'" % NODE
    output = controlplane.run(f"""
kubectl get --raw /openapi/v3/api/v1 | python3 -c 'import json,sys; s=json.load(sys.stdin)["components"]["schemas"]; \
print("list-type", s["io.k8s.api.core.v1.NodeSpec"]["properties"]["taints"]["x-kubernetes-list-type"])'
kubectl create -f $FILES/node.yaml >/dev/null
kubectl taint node {NODE} example.com/foreign=kept:NoSchedule >/dev/null
({item.check}) && echo "check-before passed" || echo "check-before failed"
for i in 1 2; do
  kubectl apply --server-side --force-conflicts --field-manager=pulumi-kubernetes-4f9a1c -f $FILES/patch.yaml >/dev/null
  echo "after-patch-$i $({taints})"
done
{item.install} >/dev/null
kubectl apply --server-side --force-conflicts --field-manager=pulumi-kubernetes-4f9a1c -f $FILES/patch.yaml >/dev/null
echo "after-prerequisite $({taints})"
({item.check}) && echo "check-after passed" || echo "check-after failed"
echo "labels $(kubectl get node {NODE} -o jsonpath='{{.metadata.labels.mlplane\\.dev/accelerator-pool}}')"
kubectl apply --server-side --force-conflicts --field-manager=pulumi-kubernetes-0ld000 -f $FILES/old.yaml >/dev/null
echo "after-old-patch $({taints})"
""", {"node.yaml": node, "patch.yaml": patch, "old.yaml": old}, components="apiserver", timeout=60)
    lines = dict(line.split(" ", 1) for line in output.splitlines() if " " in line)
    assert lines["list-type"] == "atomic", output
    assert lines["check-before"] == "failed", output
    for i in (1, 2):
        assert "example.com/foreign" in lines[f"after-patch-{i}"].split(), output
    assert set(lines["after-prerequisite"].split()) >= {"example.com/foreign", "nvidia.com/gpu"}, output
    assert lines["check-after"] == "passed", output
    assert lines["labels"] == "nvidia-a100", output
    assert "example.com/foreign" not in lines["after-old-patch"].split(), output  # the bug this replaces


def test_a_pool_selected_by_label_has_a_checked_taint_prerequisite_for_every_node_it_selects() -> None:
    """mlplane cannot taint nodes it selects by label; the prerequisite's check fails until each has the taints."""
    config = load_stack("onprem")
    pool = next(p for p in config.accelerators.pools if p.nodes and p.nodes.labels)
    [(key, value)] = pool.nodes.labels.items()
    item = next(i for i in prerequisites(config) if i.name == f"taints of nodes labelled {key}={value}")
    nodes = {f"node{i}.yaml": {"apiVersion": "v1", "kind": "Node",
                               "metadata": {"name": f"sel-{i}", "labels": {key: value}}} for i in (1, 2)}
    output = controlplane.run(f"""
kubectl create -f $FILES/node1.yaml -f $FILES/node2.yaml >/dev/null
({item.check}) && echo "none passed" || echo "none failed"
kubectl taint node sel-1 {' '.join(f"{t.key}={t.value}:{t.effect}" for t in pool.effective_taints)} >/dev/null
({item.check}) && echo "one passed" || echo "one failed"
{item.install} >/dev/null
({item.check}) && echo "all passed" || echo "all failed"
""", nodes, components="apiserver", timeout=60)
    assert [line for line in output.splitlines() if line.split(" ")[0] in ("none", "one", "all")] == \
        ["none failed", "one failed", "all passed"], output
