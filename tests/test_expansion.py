"""Expansion of every chart and kustomize directory of both release trains, over ../shared/upstream.

What the expanded plan makes checkable: every upstream object is valid Kubernetes (or
valid against its CRD, taken from the expansion itself), custom resources wait for their
CRDs, namespaces exist, no object is created twice; and the engine's own promises: names
as pulumi-kubernetes gives them, object counts as upstream builds them, the cache, the
fallback without sources and the bad-input errors.
"""

from __future__ import annotations

import copy
import json
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

from mlplane.components.sources import directory_location
from mlplane.components.base import is_credential_key

from mlplane.infra.cli import main
from mlplane.infra.offline.expand import helm, kustomize
from mlplane.infra.offline.expand.engine import ExpandOptions, expand_plan
from mlplane.infra.offline.expand.errors import ExpansionError
from mlplane.infra.offline.expand.locate import CHART_TYPE, DIRECTORY_TYPE, Missing, locate
from mlplane.infra.offline.manifests import manifest_files, manifest_path, object_conflicts, plan_scopes
from mlplane.infra.offline.kinds import is_upstream_object
from mlplane.infra.offline.plan import Plan, PlanResource

from .conftest import ROOT
from .crds import _strict, schema_file
from .expansion import (RELEASES, SHARED_CRDS, expanded, expansion_cache, needs_upstream, onprem_on, sources_folder,
                        upstream_objects)
from .test_custom_resources import is_custom
from .test_manifests import KUBERNETES_VERSION, builtin

pytestmark = [needs_upstream, pytest.mark.usefixtures("expansion_scratch")]

EXPANDABLE = (CHART_TYPE, DIRECTORY_TYPE)
#: Namespaces every cluster has; objects may live there without the plan creating them.
CLUSTER_NAMESPACES = {"default", "kube-system", "kube-public"}


def _manifest_items() -> list[dict]:
    return json.loads((sources_folder() / "MANIFEST.json").read_text())["items"]


# --- every source expands ---------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_every_chart_and_directory_expands(release: str) -> None:
    expansion = expanded(release)
    sources = [r for r in expansion.plan if r.type in EXPANDABLE]
    assert len(sources) >= 25
    assert [(name, m.key, m.reason) for name, m in expansion.missing] == []
    assert set(expansion.expanded) == {r.urn for r in sources}
    parents = Counter(r.parent for r in upstream_objects(expansion.plan))
    assert [r.name for r in sources if parents[r.urn] == 0] == []


@pytest.mark.parametrize("release", RELEASES)
def test_directories_expand_to_what_upstream_builds(release: str) -> None:
    # MANIFEST.json counts the objects `kubectl kustomize` built from each pinned path
    # (with the remote resources for the two 26.03 paths that need them).
    counts = {(i["version"], i["path"]): i["objects"] for i in _manifest_items() if i["kind"] == "kustomize"}
    plan = expanded(release).plan
    children = Counter(r.parent for r in upstream_objects(plan))
    checked = 0
    for resource in plan.of_type(DIRECTORY_TYPE):
        location = directory_location(resource.inputs["directory"])
        key = next((k for k in counts if location.endswith(f"//{k[1]}?ref={k[0]}")), None)
        if key is None:  # a path MANIFEST.json does not list (tests/data/upstream adds it): built, not counted
            assert children[resource.urn] > 0, resource.name
            continue
        assert children[resource.urn] == counts[key], resource.name
        checked += 1
    assert checked >= 12


def _one(plan: Plan, type_: str, name: str) -> PlanResource:
    found = [r for r in plan.of_type(type_) if r.name == name]
    assert len(found) == 1, f"{len(found)} {type_} named {name}"
    return found[0]


def test_children_are_named_and_typed_as_pulumi_kubernetes_does() -> None:
    # provider/pkg/provider/yaml/v2/yaml.go (register): "<prefix>:<namespace>/<name>",
    # "<prefix>:<name>" for cluster-scoped objects; the prefix is the component's name.
    plan = expanded("26.03").plan
    katib = plan.named("platform-apps-katib-katib")
    controller = _one(plan, "kubernetes:apps/v1:Deployment", "platform-apps-katib-katib:kubeflow/katib-controller")
    assert controller.parent == katib.urn and controller.provider == katib.provider and controller.custom
    assert controller.urn == ("urn:pulumi:onprem::mlplane::mlplane:platform:Platform$mlplane:platform:KubeflowApps"
                              "$kubernetes:kustomize/v2:Directory$kubernetes:apps/v1:Deployment"
                              "::platform-apps-katib-katib:kubeflow/katib-controller")
    _one(plan, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
         "platform-apps-katib-katib:experiments.kubeflow.org")
    _one(plan, "kubernetes:core/v1:Service", "platform-auth-dex:auth/dex")  # mlplane sets fullnameOverride
    by_urn = plan.by_urn()
    for child in upstream_objects(plan):
        metadata = child.inputs["metadata"]
        local = f"{metadata['namespace']}/{metadata['name']}" if metadata.get("namespace") else metadata["name"]
        assert child.name == f"{by_urn[child.parent].name}:{local}"


def test_helm_hooks_are_left_out_and_crds_folders_included() -> None:
    # helm/v4/chart.go: DisableHooks = true, IncludeCRDs = !skipCrds.
    plan = expanded("26.03").plan
    for child in upstream_objects(plan):
        assert "helm.sh/hook" not in (child.inputs["metadata"].get("annotations") or {}), child.name
    kserve_crds = [r for r in upstream_objects(plan) if r.parent == plan.named("platform-apps-kserve-crds").urn]
    assert kserve_crds and all(r.inputs["kind"] == "CustomResourceDefinition" for r in kserve_crds)


# --- what expansion makes checkable ------------------------------------------------------


@pytest.fixture
def cached_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    """kubernetes-validate reads its schema files (and the large _definitions.json) on every
    call; read each once (the files do not change during a run)."""
    import kubernetes_validate.utils as utils

    monkeypatch.setattr(utils, "schema_contents", lru_cache(maxsize=None)(utils.schema_contents))


@pytest.mark.usefixtures("cached_schemas")
@pytest.mark.parametrize("release", RELEASES)
def test_expanded_builtin_objects_are_valid_kubernetes(release: str) -> None:
    failures = []
    checked = 0
    for resource in upstream_objects(expanded(release).plan):
        if builtin(resource):
            try:
                kubernetes_validate.validate(resource.inputs, KUBERNETES_VERSION, strict=True)
                checked += 1
            except kubernetes_validate.SchemaNotFoundError:
                assert is_crd_kind(resource), resource.name  # a CRD's kind in a *.k8s.io group
            except kubernetes_validate.ValidationError as exc:
                failures.append(f"{resource.name}: {exc.message} at {list(exc.path)}")
    assert failures == []
    assert checked > 300


def is_crd_kind(resource: PlanResource) -> bool:
    """Whether Kubernetes itself has no schema for the kind (so a CRD defines it)."""
    return resource.is_kubernetes_object and _no_builtin_schema(resource.inputs["apiVersion"], resource.inputs["kind"])


@lru_cache(maxsize=None)
def _no_builtin_schema(api_version: str, kind: str) -> bool:
    try:
        kubernetes_validate.validate({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}},
                                     KUBERNETES_VERSION, strict=False)
    except kubernetes_validate.SchemaNotFoundError:
        return True
    except kubernetes_validate.ValidationError:
        return False
    return False


def _crd_schemas(plan: Plan) -> dict[tuple[str, str], dict]:
    """``(apiVersion, kind) -> openAPIV3Schema`` of every CRD the plan installs."""
    schemas = {}
    for resource in plan.of_type("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"):
        spec = resource.inputs["spec"]
        for version in spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema:
                schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
    return schemas


def _strict_root(schema: dict) -> dict:
    strict = _strict(copy.deepcopy(schema))
    strict["properties"] = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                            "metadata": {"type": "object"}, **strict.get("properties", {})}
    return strict


@pytest.mark.parametrize("release", RELEASES)
def test_every_custom_resource_matches_its_crd(release: str) -> None:
    plan = expanded(release).plan
    schemas = _crd_schemas(plan)
    validators: dict[tuple[str, str], jsonschema.Draft7Validator] = {}
    failures = []
    for resource in plan:
        if not (is_custom(resource) or is_crd_kind(resource)):
            continue
        key = (resource.inputs["apiVersion"], resource.inputs["kind"])
        if key not in validators:
            schema = schemas.get(key)
            vendored = schema_file(*key, base=SHARED_CRDS)
            if schema is None and vendored.is_file():
                schema = json.loads(vendored.read_text())
            if schema is None:
                failures.append(f"{resource.name}: no CRD for {key} in the plan or in ../shared/crds")
                continue
            validators[key] = jsonschema.Draft7Validator(_strict_root(schema))
        errors = sorted(validators[key].iter_errors(resource.inputs), key=str)
        failures += [f"{resource.name}: {e.message[:200]} at {list(e.absolute_path)}" for e in errors[:3]]
    assert failures == []


def waits_for(plan: Plan, dependent: PlanResource, dependency: PlanResource) -> bool:
    """Whether the engine creates ``dependency`` before ``dependent``.

    A resource waits for its own dependencies and for those of its ancestors (a component
    is registered, and a chart or directory expanded, only once its dependencies are
    ready); depending on a component means waiting for all of its descendants.
    """
    by_urn = plan.by_urn()
    chain = {dependency.urn}
    parent = dependency.parent
    while parent:
        chain.add(parent)
        parent = by_urn[parent].parent if parent in by_urn else None
    seen: set[str] = set()
    pending = [dependent.urn]
    while pending:
        urn = pending.pop()
        if urn in seen or urn not in by_urn:
            continue
        seen.add(urn)
        resource = by_urn[urn]
        if chain & set(resource.dependencies):
            return True
        pending.extend(resource.dependencies)
        if resource.parent:
            pending.append(resource.parent)
    return False


@pytest.mark.parametrize("release", RELEASES)
def test_every_custom_resource_waits_for_its_crd(release: str) -> None:
    plan = expanded(release).plan
    crds = {}
    for resource in plan.of_type("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"):
        spec = resource.inputs["spec"]
        crds[(spec["group"], spec["names"]["kind"])] = resource
    failures = []
    for resource in plan:
        if not (is_custom(resource) or is_crd_kind(resource)):
            continue
        group = resource.inputs["apiVersion"].rpartition("/")[0]
        crd = crds.get((group, resource.inputs["kind"]))
        if crd is None:
            failures.append(f"{resource.name}: the plan installs no CRD for {group}/{resource.inputs['kind']}")
        elif not waits_for(plan, resource, crd):
            failures.append(f"{resource.name} does not wait for {crd.name}")
    assert failures == []


@pytest.mark.parametrize("release", RELEASES)
def test_every_namespaced_object_has_its_namespace_in_the_plan(release: str) -> None:
    plan = expanded(release).plan
    namespaces = {r.inputs["metadata"]["name"] for r in plan.of_type("kubernetes:core/v1:Namespace")}
    missing = sorted({f"{r.inputs['metadata']['namespace']} ({r.name})" for r in plan if r.is_kubernetes_object
                      and r.inputs["metadata"].get("namespace") not in namespaces | CLUSTER_NAMESPACES | {None}})
    assert missing == []


@pytest.mark.parametrize("release", RELEASES)
def test_no_object_is_created_twice(release: str) -> None:
    # Found by expansion: Knative's directory ships its namespace and the local gateway's
    # ALLOW policy; mlplane patches the one and no longer declares the other.
    assert object_conflicts(expanded(release).plan) == {}


@pytest.mark.parametrize("release", RELEASES)
def test_patched_namespace_labels_agree_with_upstream(release: str) -> None:
    # Server-side apply refuses a patch that gives a label upstream's manager owns another value.
    plan = expanded(release).plan
    patch = next(r for r in plan.of_type("kubernetes:core/v1:NamespacePatch")
                 if r.inputs["metadata"]["name"] == "knative-serving")
    shipped = next(r for r in upstream_objects(plan) if r.type == "kubernetes:core/v1:Namespace"
                   and r.inputs["metadata"]["name"] == "knative-serving")
    ours, theirs = patch.inputs["metadata"]["labels"], shipped.inputs["metadata"].get("labels") or {}
    assert {k: v for k, v in ours.items() if k in theirs and theirs[k] != v} == {}
    assert ours["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted")
    assert shipped.urn in set(patch.dependencies) or any(
        d for d in patch.dependencies if "knative" in d), "the patch must wait for the directory"


@pytest.mark.parametrize("release", RELEASES)
def test_upstream_secrets_are_masked(release: str) -> None:
    plan = expanded(release).plan
    secrets = [r for r in upstream_objects(plan) if r.type == "kubernetes:core/v1:Secret"]
    assert secrets
    for secret in secrets:
        for key in ("data", "stringData"):
            values = secret.inputs.get(key) or {}
            assert set(values.values()) <= {"[secret]", "[published default]"}, secret.name
            # A directory's own literal is shown as published only where it is no credential
            # (``username: root``): every credential is generated (tests/test_credentials.py).
            assert [k for k, v in values.items() if v == "[published default]" and is_credential_key(k)] == []


# --- the engine: cache, fallback, bad input ----------------------------------------------


def test_a_cached_expansion_runs_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    expanded("26.03")  # fills the cache
    base = expanded.__wrapped__  # type: ignore[attr-defined]
    monkeypatch.setattr(helm, "render_chart", _refuse)
    monkeypatch.setattr(kustomize, "build_directory", _refuse)
    again = base("26.03")
    assert again.plan.to_json_text() == expanded("26.03").plan.to_json_text()


def test_a_remote_resource_without_its_copy_leaves_the_directory_opaque(tmp_path: Path) -> None:
    (tmp_path / "kubeflow-manifests").symlink_to(sources_folder() / "kubeflow-manifests")  # no remote/
    plan = expanded("26.03").plan
    bare = Plan(plan.project, plan.stack, tuple(r for r in plan if not is_upstream_object(r.urn)  # trainer only
                                                 and (r.type not in EXPANDABLE
                                                      or r.name == "platform-apps-training-controller")))
    result = expand_plan(bare, ExpandOptions(roots=(tmp_path,)))
    missing = dict(result.missing)
    assert missing["platform-apps-training-controller"].key.startswith("https://github.com/kubernetes-sigs/jobset/")
    assert "remote/<host>/<path>" in missing["platform-apps-training-controller"].reason


def _render(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_without_sources_the_render_is_opaque_and_says_how_to_get_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, err = _render(["render", "--stack", "dev", "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert "not expanded" in err and "--sources DIR" in err and "mlplane sources fetch --stack dev" in err
    assert "platform-apps-pipelines-pipelines" in err
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert not any(":" in r["name"] and "$kubernetes:kustomize/v2:Directory$" in r["urn"] for r in plan["resources"])


def test_a_render_with_sources_is_deterministic_and_reads_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # The CLI finds the session's expansions in $XDG_CACHE_HOME/mlplane/expansions.
    expected = expanded("26.03").plan.to_json_text()
    monkeypatch.setenv("XDG_CACHE_HOME", str(expansion_cache().parent.parent))
    monkeypatch.setattr(helm, "render_chart", _refuse)
    monkeypatch.setattr(kustomize, "build_directory", _refuse)
    config = onprem_on("26.03", tmp_path / "stack")
    out = tmp_path / "out"
    code, _, err = _render(["render", "--config-file", str(config.source.file), "--out", str(out),
                            "--sources", str(sources_folder())], capsys)
    assert code == 0, err
    assert "not expanded" not in err
    # This render and the session's (another process' worth of work: mock run, expansion) agree.
    assert (out / "plan.json").read_text() == expected
    written = {str(p.relative_to(out / "manifests")): p.read_text() for p in (out / "manifests").rglob("*.yaml")}
    assert written == manifest_files(expanded("26.03").plan)
    assert len(written) > 600


def test_charts_render_the_same_every_time() -> None:
    # Kustomize builds are deterministic; a chart could generate certificates or
    # passwords (genCA, randAlphaNum) and so differ per render: none of ours does.
    for plan in (expanded(release).plan for release in RELEASES):
        for chart in plan.of_type(CHART_TYPE):
            found = locate(CHART_TYPE, chart.inputs, (sources_folder(),))
            assert not isinstance(found, Missing)
            runs = [helm.render_chart(found.folder, resource=chart.name, release=chart.name,  # crds/ is static
                                      namespace=chart.inputs["namespace"], values=chart.inputs["values"],
                                      include_crds=False)
                    for _ in range(2)]
            assert runs[0] == runs[1], chart.name


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("the engine ran although the cache holds the expansion")


def test_a_chart_version_the_sources_lack_exits_2_naming_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(text.replace("    components:\n", "    components:\n      dex: {version: 0.99.0}\n", 1))
    out = tmp_path / "out"
    code, _, err = _render(["render", "--config-file", str(stack), "--out", str(out), "--sources",
                            str(sources_folder())], capsys)
    assert code == 2
    assert "Traceback" not in err
    assert str(stack) in err and "mlplane:kubeflow.components.dex.version" in err
    assert "0.99.0" in err and "0.14.3, 0.24.0" in err
    assert not out.exists()


def test_values_the_chart_schema_rejects_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(text.replace("    components:\n", "    components:\n"
                                  "      cert_manager: {values: {replicaCount: many}}\n", 1))
    out = tmp_path / "out"
    sources = tmp_path / "sources" / "charts"  # only the chart at fault: the others stay opaque, quickly
    sources.mkdir(parents=True)
    (sources / "cert-manager-v1.19.4").symlink_to(sources_folder() / "charts" / "cert-manager-v1.19.4")
    code, _, err = _render(["render", "--config-file", str(stack), "--out", str(out), "--sources",
                            str(sources.parent)], capsys)
    assert code == 2, err
    assert "mlplane:kubeflow.components.cert_manager.values" in err and "replicaCount" in err
    assert "values.schema.json" in err
    assert not out.exists()


def test_a_path_that_is_not_a_kustomization_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    directory = PlanResource(urn="urn:pulumi:t::mlplane::kubernetes:kustomize/v2:Directory::d", type=DIRECTORY_TYPE,
                             name="d", custom=False, parent=None, provider=None, dependencies=(),
                             inputs={"directory": str(tmp_path / "empty")})
    with pytest.raises(ExpansionError, match="not a kustomization") as caught:
        expand_plan(Plan("mlplane", "t", (directory,)), ExpandOptions(roots=()))
    assert caught.value.key == "directory" and caught.value.allowed == "a folder with a kustomization.yaml"


def test_a_local_folder_that_does_not_exist_stays_opaque(tmp_path: Path) -> None:
    directory = PlanResource(urn="urn:pulumi:t::mlplane::kubernetes:kustomize/v2:Directory::d", type=DIRECTORY_TYPE,
                             name="d", custom=False, parent=None, provider=None, dependencies=(),
                             inputs={"directory": str(tmp_path / "absent")})
    result = expand_plan(Plan("mlplane", "t", (directory,)), ExpandOptions(roots=()))
    assert result.missing == (("d", Missing(str(tmp_path / "absent"), "the local folder does not exist")),)


@pytest.mark.parametrize("release", RELEASES)
def test_expanded_manifests_are_written_one_per_object(release: str) -> None:
    plan = expanded(release).plan
    files = manifest_files(plan)
    paths = defaultdict(list)
    scopes = plan_scopes(plan)  # metacontroller's CompositeController is cluster-scoped (its CRD says so)
    for resource in plan:
        if resource.is_kubernetes_object:
            paths[manifest_path(resource, scopes)].append(resource.name)
    assert set(files) == set(paths)
    assert len(files) > 600


# --- mlplane sources ---------------------------------------------------------------------


def test_sources_status_lists_what_is_at_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, _ = _render(["sources", "status", "--stack", "onprem", "--sources", str(sources_folder())], capsys)
    assert code == 0
    assert out.splitlines()[-1] == "30 of 30 charts/directories present"
    assert "present  platform-apps-katib-katib  kubeflow-manifests/26.03/applications/katib/upstream/installs/" in out
    partial = tmp_path / "partial"  # the trees without remote/: the two paths that read remote resources say so
    partial.mkdir()
    (partial / "kubeflow-manifests").symlink_to(sources_folder() / "kubeflow-manifests")
    code, out, _ = _render(["sources", "status", "--stack", "onprem", "--sources", str(partial)], capsys)
    assert code == 0
    assert "missing  platform-istio-istiod  charts/istiod-1.29.0  (not in the sources folders)" in out
    assert ("  missing remote resource https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/"
            "manifests.yaml") in out
    assert out.splitlines()[-1] == "19 of 30 charts/directories present"  # the 19 directories


def test_sources_fetch_without_the_network_exits_2_saying_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import helm_python

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def offline(*args: object, **kwargs: object) -> None:
        raise helm_python.HelmError("dial tcp: lookup charts.jetstack.io: no such host")

    monkeypatch.setattr(helm_python, "pull", offline)
    code, out, err = _render(["sources", "fetch", "--stack", "dev"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "cannot fetch the sources: helm pull dex 0.24.0: dial tcp" in err
    assert "--sources DIR" in err
    assert not (tmp_path / "cache" / "mlplane" / "sources" / "charts").exists()


def test_preview_reports_upstream_findings_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    expanded("26.03")  # the session's cache holds this stack's expansions
    monkeypatch.setenv("XDG_CACHE_HOME", str(expansion_cache().parent.parent))
    config = onprem_on("26.03", tmp_path / "stack")
    code, out, err = _render(["preview", "--config-file", str(config.source.file), "--sources",
                              str(sources_folder()), "--against", str(tmp_path / "none.json")], capsys)
    assert code == 2 and "no such plan file" in err  # --against must exist: nothing else printed
    (tmp_path / "empty.json").write_text('{"version": 1, "project": "mlplane", "stack": "onprem", "resources": []}')
    code, out, err = _render(["preview", "--config-file", str(config.source.file), "--sources",
                              str(sources_folder()), "--against", str(tmp_path / "empty.json"), "--expand-tree"],
                             capsys)
    assert code == 0, err
    assert "Upstream objects (charts, kustomize directories):" in out
    assert "chart:cni no-host-path" in out and "known upstream exception: Istio's CNI node agent" in out
    assert "NOT EXPLAINED" not in out
    assert "platform-apps-katib-katib:kubeflow/katib-controller" in out  # the tree shows expanded objects


def test_a_version_only_the_cache_lacks_stays_opaque(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # The cache may not have fetched a version yet: not bad input, only not expanded.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    charts = tmp_path / "cache" / "mlplane" / "sources" / "charts"
    charts.mkdir(parents=True)
    (charts / "dex-0.14.3").symlink_to(sources_folder() / "charts" / "dex-0.14.3")  # 26.03 pins 0.24.0
    code, _, err = _render(["render", "--stack", "dev", "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert "platform-auth-dex: charts/dex-0.24.0 (not in the sources folders)" in err


def test_a_relative_sources_folder_expands_remote_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    # The 26.03 pipelines directory reads remote resources: they are rewritten to their
    # local copies, which must work with `--sources ../shared/upstream` as users type it.
    import os

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(sources_folder(), tmp_path)
    stack = ROOT / "Pulumi.onprem.yaml"  # tmp_path is in no project: the stack file is named
    assert main(["render", "--config-file", str(stack), "--sources", relative, "--out", str(tmp_path / "out")]) == 0
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert any(r["type"] == "kubernetes:apps/v1:Deployment" and "workflow-controller" in r["name"]
               for r in plan["resources"]), "the Argo workflow controller (a remote resource) was not expanded"
