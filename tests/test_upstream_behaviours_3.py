"""What works on paper must work on a cluster, round 3 (issue 25): certificates, volumes, names,
meshes and storage a team already has. docs/upstream-behaviours.md, sections 10 and later,
says what each test guarantees and against which upstream source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplane.infra.cli import main
from mlplane.infra.offline.kinds import crd_scopes
from mlplane.infra.offline.manifests import manifest_files, manifest_path
from mlplane.infra.offline.plan import Plan, PlanResource, load_plan

from .test_upstream_behaviours import write_stack
from .upstream import sources_folder


def render_expanded_ok(tmp_path: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> Plan:
    """``mlplane render --sources`` of a stack file (the pinned upstream sources), which must succeed."""
    code = main(["render", "--config-file", str(path), "--sources", str(sources_folder()),
                 "--out", str(tmp_path / "ok")])
    assert code == 0, capsys.readouterr().err
    return load_plan(tmp_path / "ok")


def selfhosted(**sections: Any) -> dict[str, Any]:
    """A self-hosted stack's config with the given ``mlplane:<section>`` entries."""
    return {"mlplane:cluster": {"kind": "selfhosted", "context": "c"},
            **{f"mlplane:{key}": value for key, value in sections.items()}}


# --- Cluster-scoped custom resources from expanded charts ----------------------------------

GPU_OPERATOR = {"nvidia": {"install": "gpu-operator"},
                "pools": [{"name": "a100", "vendor": "nvidia", "model": "a100-80gb", "accelerators_per_node": 8,
                           "nodes": {"names": ["gpu-1"]}}]}


def namespace_of(resource: PlanResource) -> str | None:
    return (resource.inputs.get("metadata") or {}).get("namespace")


def test_the_gpu_operators_cluster_policy_renders_cluster_scoped(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    plan = render_expanded_ok(tmp_path, write_stack(tmp_path, selfhosted(accelerators=GPU_OPERATOR)), capsys)
    crds = [r.inputs for r in plan if r.type.endswith(":CustomResourceDefinition")]
    # The chart's own CRD says so (gpu-operator's crds/nvidia.com_clusterpolicies.yaml).
    assert crd_scopes(crds)[("nvidia.com", "ClusterPolicy")] is False
    [policy] = [r for r in plan if r.type == "kubernetes:nvidia.com/v1:ClusterPolicy"]
    assert namespace_of(policy) is None
    assert (tmp_path / "ok" / "manifests" / "_cluster" / "ClusterPolicy-cluster-policy.yaml").is_file()


def test_every_expanded_custom_resource_is_placed_as_its_crd_says(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The others of the kind: every custom resource of every expanded chart and directory of a
    stack with every component on, both trains (26.03 here; 1.8.1 in test_expansion), placed by its CRD."""
    config = yaml.safe_load((Path(__file__).parent.parent / "Pulumi.onprem.yaml").read_text())["config"]
    config["mlplane:accelerators"]["nvidia"] = {"install": "gpu-operator"}
    plan = render_expanded_ok(tmp_path, write_stack(tmp_path, config), capsys)
    scopes = crd_scopes(r.inputs for r in plan if r.type.endswith(":CustomResourceDefinition"))
    cluster_kinds = {kind for (_, kind), namespaced in scopes.items() if not namespaced}
    assert "ClusterPolicy" in cluster_kinds
    checked = 0
    for resource in plan:
        group = str(resource.inputs.get("apiVersion", "")).rpartition("/")[0]
        key = (group, str(resource.inputs.get("kind", "")))
        if resource.is_kubernetes_object and key in scopes:
            checked += 1
            # A namespaced one got the directory's namespace (pulumi-kubernetes' Normalize); a
            # cluster-scoped one may keep a namespace kustomize set (metacontroller's
            # DecoratorController), which the API server clears, so only its placement counts.
            place = manifest_path(resource, scopes).split("/")[0]
            assert (place != "_cluster") == scopes[key], resource.urn
            if scopes[key]:
                assert place == namespace_of(resource)
    assert checked > 50
    files = manifest_files(plan)
    assert any(path.startswith("_cluster/ClusterPolicy-") for path in files)


def test_an_incomplete_manifest_is_unexpected_not_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """mlplane places every object itself: a manifest it cannot place is its own fault (exit 3)."""
    from mlplane.infra.offline import manifests

    def broken(resource: PlanResource, scopes: Any = None) -> str:
        raise manifests.ManifestError(f"{resource.urn}: namespaced X 'x' has no metadata.namespace")

    monkeypatch.setattr(manifests, "manifest_path", broken)
    path = write_stack(tmp_path, selfhosted())
    assert main(["render", "--config-file", str(path), "--out", str(tmp_path / "never")]) == 3
    assert not (tmp_path / "never").exists()
    assert "not a problem with your input" in capsys.readouterr().err
