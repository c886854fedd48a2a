"""Published credentials: found in both trains' upstream directories, generated, written into every consumer.

The raw objects come from kustomize over ``../shared/upstream`` (unmasked, as kubectl
would apply them). The transform is taken from the recorded plan (the function the
component registered on the directory), never rebuilt here.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from mlplane.components.depends_on import annotate
from mlplane.components.sources import directory_location, wrapped_location
from mlplane.components.base import SECRET_MASK
from mlplane.components.credentials.scan import literal_credentials
from mlplane.components.credentials.stores import ALLOW_EMPTY, STORES
from mlplane.components.credentials.transform import CREDENTIAL_TRANSFORM, reads_secret
from mlplane.components.platform.kfp_config import CACHE_IMAGE, PROXY_KEY
from mlplane.components.pod_security import image_problem
from mlplane.components.platform.releases import ManifestsSource, release
from mlplane.infra.offline.expand import kustomize
from mlplane.infra.offline.expand.children import masked_secret, transformed, type_token
from mlplane.policy.images import plan_images
from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.render import render_config
from mlplane.policy.offline import plan_violations
from mlplane.policy.rules import credentials as rule

from .expansion import RELEASES, expanded, needs_upstream, onprem_on, sources_folder

pytestmark = [needs_upstream, pytest.mark.usefixtures("expansion_scratch")]

#: What each train publishes, found by hand in the sources (stores.py cites the files).
EXPECTED = {
    "1.8.1": {("Secret", "mlpipeline-minio-artifact", "stringData.accesskey", "minio"),
              ("Secret", "mlpipeline-minio-artifact", "stringData.secretkey", "minio123"),
              ("Secret", "mysql-secret", "stringData.password", ""),
              ("Deployment", "mysql", f"env.mysql.{ALLOW_EMPTY}", "true"),
              ("Secret", "katib-mysql-secrets", "data.MYSQL_ROOT_PASSWORD", "test"),
              ("Deployment", "katib-mysql", f"env.katib-mysql.{ALLOW_EMPTY}", "true")},
}
EXPECTED["26.03"] = EXPECTED["1.8.1"] | {
    ("ConfigMap", "model-registry-db-parameters", f"data.{ALLOW_EMPTY}", "true"),
    ("Secret", "model-registry-db-secrets", "data.MYSQL_ROOT_PASSWORD", "test"),
}


@lru_cache(maxsize=None)
def raw(train: str) -> dict[str, list[dict[str, Any]]]:
    """Every Kubeflow directory of ``train`` as kustomize builds it, by ``component/path``."""
    root = sources_folder()
    return {f"{c.key}/{s.path}": kustomize.build_directory(root / "kubeflow-manifests" / s.version / s.path, (root,))
            for c in release(train).components.values() for s in c.sources if isinstance(s, ManifestsSource)}


@lru_cache(maxsize=None)
def recorded(train: str, folder: str) -> Plan:
    return render_config(onprem_on(train, Path(folder)))


def _directory(plan: Plan, role: str) -> str:
    """The URN of the recorded directory of ``component/path``."""
    path = role.split("/", 1)[1]
    return next(r.urn for r in plan if f"//{path}?ref=" in directory_location(str(r.inputs.get("directory"))))


def _with_generated(objects: list[dict[str, Any]], transforms: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [transformed(copy.deepcopy(o), transforms, "t") for o in objects]


@pytest.mark.parametrize("train", RELEASES)
def test_the_scan_finds_exactly_the_published_credentials_the_stores_cover(train: str) -> None:
    found = {(f.kind, f.name, f.where, f.value) for objects in raw(train).values()
             for f in literal_credentials(objects)}
    assert found == EXPECTED[train]
    covered = {(s.secret, k.key, k.published) for s in STORES.values() for k in s.keys}
    for kind, name, where, value in found:
        if kind == "Secret":
            assert (name, where.split(".", 1)[1], value) in covered
        else:
            assert any(name in (s.database, s.parameters) for s in STORES.values())


@pytest.mark.parametrize("train", RELEASES)
def test_after_the_registered_transforms_no_consumer_reads_a_published_value(train: str, tmp_path: Path) -> None:
    plan = recorded(train, str(tmp_path))
    for role, objects in raw(train).items():
        urn = _directory(plan, role)
        transforms = plan.transforms.get(urn, ())
        after = _with_generated(objects, transforms)
        # What is left is generated: an output only known at deployment ([secret] here).
        assert [f for f in literal_credentials(after) if f.value != SECRET_MASK] == [], role
        for obj in after:  # every consumer still reads the store's Secret, now generated
            if obj["kind"] == "Secret" and any(s.secret == obj["metadata"]["name"] for s in STORES.values()):
                store = next(s for s in STORES.values() if s.secret == obj["metadata"]["name"])
                assert "data" not in obj
                assert {k.key: obj["stringData"][k.key] for k in store.keys} == {k.key: SECRET_MASK for k in store.keys}
        if any(s.component == role.split("/")[0] for s in STORES.values()):
            assert [t for t in transforms if hasattr(t, CREDENTIAL_TRANSFORM)], role


@pytest.mark.parametrize("train", RELEASES)
def test_no_consumer_is_patched_by_a_second_code_path(train: str, tmp_path: Path) -> None:
    """Each expanded child is kustomize's object put through the directory's ordering plugin
    (components/ordered_directory.py: an annotation, nothing else) and its registered transforms, and
    nothing else; every object a store's credential reaches is among those they changed."""
    plan = recorded(train, str(tmp_path))
    by_urn = plan.by_urn()
    children = [r for r in expanded(train).plan if r.parent]
    changed: set[tuple[str, str]] = set()
    for role, built in raw(train).items():
        urn = _directory(plan, role)
        wrapped = wrapped_location(str(by_urn[urn].inputs["directory"]))
        assert wrapped is not None, role
        objects = annotate(built, wrapped[1])
        transforms = plan.transforms.get(urn, ())
        ours = {(r.inputs["kind"], r.inputs["metadata"]["name"]): r.inputs for r in children if r.parent == urn}
        assert len(ours) == len(objects)
        for obj in objects:
            child = ours[(obj["kind"], obj["metadata"]["name"])]
            shown = masked_secret(copy.deepcopy(obj), published=True)
            assert _without_namespace(child) == _without_namespace(transformed(copy.deepcopy(shown), transforms, "t"))
            if _without_namespace(child) != _without_namespace(shown):
                changed.add((obj["kind"], obj["metadata"]["name"]))
    consumers = {(kind, name) for kind, name, _, _ in EXPECTED[train]}
    assert consumers <= changed
    # The cache image pinned, the artifact proxy on, the UI's open proxy and the visualization
    # service closed (kfp_config.py); workloads reading a store restart; on 1.8.1 the profile
    # controller's code and Argo's key format give each profile its own key and prefix
    # (profile_identities.py), through the same registered transform.
    readers = {("Deployment", o["metadata"]["name"]) for objects in raw(train).values() for o in objects
               if o["kind"] == "Deployment" and any(reads_secret(o["spec"]["template"]["spec"], s.secret)
                                                    for s in STORES.values())}
    # ... and Knative's local gateway listener on Istio mTLS (local_gateway.py; test_serverless_side_door.py);
    # the Training Operator's template mount (training_init.py).
    code = {("ConfigMap", o["metadata"]["name"]) for objects in raw(train).values() for o in objects
            if o["kind"] == "ConfigMap" and "sync.py" in (o.get("data") or {})}
    per_profile = code | {("ConfigMap", "workflow-controller-configmap")} if train == "1.8.1" else set()
    assert changed - consumers - readers <= {("ConfigMap", "pipeline-install-config"),
                                            ("Deployment", "kubeflow-pipelines-profile-controller"),
                                            ("AuthorizationPolicy", "ml-pipeline-ui"),
                                            ("AuthorizationPolicy", "ml-pipeline"),
                                            ("Gateway", "knative-local-gateway"), *per_profile,
                                            # 1.8.1: the Training Operator reads mlplane's init-container template.
                                            *({("Deployment", "training-operator")} if train == "1.8.1" else set())}
    assert per_profile <= changed


def _without_namespace(obj: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(obj)
    copied.get("metadata", {}).pop("namespace", None)
    return copied


@pytest.mark.parametrize("train", RELEASES)
def test_expanded_plans_keep_no_published_credential_and_the_pack_agrees(train: str) -> None:
    plan = expanded(train).plan
    assert [v for v in plan_violations(plan) if v.policy == rule.NAME] == []
    secrets = {r.inputs["metadata"]["name"]: r.inputs for r in plan if r.type == "kubernetes:core/v1:Secret"}
    for store in STORES.values():
        if store.secret in secrets:
            values = secrets[store.secret].get("stringData") or {}
            assert all(values[k.key] == SECRET_MASK for k in store.keys)


@pytest.mark.parametrize("train", RELEASES)
def test_the_pack_reports_published_credentials_left_in_place_instead_of_masking_them(train: str) -> None:
    """Without the transform, every finding of the scan is a finding of the pack."""
    messages = []
    for objects in raw(train).values():
        for obj in objects:
            shown = masked_secret(copy.deepcopy(obj), published=True)
            messages += [(obj["kind"], obj["metadata"]["name"], m)
                         for m in rule.check(type_token(obj["apiVersion"], obj["kind"]), shown,
                                             rule.ResourceContext())]
    assert {(k, n) for k, n, _ in messages} == {(k, n) for k, n, _, _ in EXPECTED[train]}
    assert len(messages) == len(EXPECTED[train])


def test_the_pack_reports_plain_published_values_as_the_engine_shows_them() -> None:
    """Under the engine a Secret's values are plain: the published pair is recognised by value."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mlpipeline-minio-artifact"},
              "stringData": {"accesskey": "minio", "secretkey": "minio123"}}
    assert len(rule.check("kubernetes:core/v1:Secret", secret, rule.ResourceContext())) == 2
    secret["stringData"] = {"accesskey": "AKx9", "secretkey": "generated-value"}
    assert rule.check("kubernetes:core/v1:Secret", secret, rule.ResourceContext()) == []
    katib = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "katib-mysql-secrets"},
             "data": {"MYSQL_ROOT_PASSWORD": "dGVzdA=="}}
    assert rule.check("kubernetes:core/v1:Secret", katib, rule.ResourceContext())


@pytest.mark.parametrize("train", RELEASES)
def test_every_image_the_expanded_plan_runs_has_a_tag_or_digest(train: str) -> None:
    plan = expanded(train).plan
    images = list(plan_images(plan))
    assert len(images) > 50
    assert [(n, i) for n, i in images if image_problem(i)] == []
    cache = [i for n, i in images if n.endswith("/pipeline-install-config")]
    assert cache == [CACHE_IMAGE]


@pytest.mark.parametrize("train", RELEASES)
def test_the_kfp_ui_reads_artifacts_through_each_namespaces_proxy(train: str) -> None:
    """The UI's switch and the profile controller's (which deploys each namespace's proxy) are both on."""
    plan = expanded(train).plan
    objects = {(r.inputs.get("kind"), r.inputs["metadata"]["name"]): r.inputs for r in plan if r.parent
               and "metadata" in r.inputs}
    config = objects[("ConfigMap", "pipeline-install-config")]["data"]
    assert config[PROXY_KEY] == "true"

    def switch(deployment: str, name: str) -> Any:
        env = objects[("Deployment", deployment)]["spec"]["template"]["spec"]["containers"][0]["env"]
        found = [e for e in env if e["name"] == name]
        assert len(found) == 1, (deployment, name)
        return found[0].get("value") or found[0]["valueFrom"]["configMapKeyRef"]

    from_config = {"name": "pipeline-install-config", "key": PROXY_KEY}
    assert switch("kubeflow-pipelines-profile-controller", PROXY_KEY) == from_config
    ui = switch("ml-pipeline-ui", "ARTIFACTS_SERVICE_PROXY_ENABLED")
    assert ui == "true" if train == "1.8.1" else {**from_config, "optional": True} == ui
