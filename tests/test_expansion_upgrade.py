"""The upgrade 1.8.1 -> 26.03, object by object: upstream data that would be lost is flagged, named."""

from __future__ import annotations

import pytest

from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.kinds import UPSTREAM_DATA, is_stateful_type, is_upstream_object

from .expansion import expanded, needs_upstream

pytestmark = [needs_upstream, pytest.mark.usefixtures("expansion_scratch")]


@pytest.fixture(scope="module")
def upgrade():
    return diff_plans(expanded("1.8.1").plan, expanded("26.03").plan)


def test_the_upgrade_diffs_upstream_objects_one_by_one(upgrade) -> None:
    upstream = [c for c in upgrade.changes if is_upstream_object(c.urn)]
    assert {c.op for c in upstream} == {"create", "update", "replace", "delete"}
    assert len(upstream) > 300


def test_losing_kfp_artifacts_is_flagged_and_names_the_data(upgrade) -> None:
    # 1.8.1's KFP keeps artifacts in MinIO (minio-pvc); 26.03's in SeaweedFS: the claim goes.
    change = next(c for c in upgrade.changes
                  if c.urn.endswith("::platform-apps-pipelines-pipelines:kubeflow/minio-pvc"))
    assert change.op == "delete" and change.danger
    assert "MinIO object store (pipeline artifacts and logs)" in change.reason


def test_every_upstream_claim_that_goes_or_is_replaced_is_danger_with_its_data(upgrade) -> None:
    old = expanded("1.8.1").plan.by_urn()
    for change in upgrade.changes:
        if change.op in ("delete", "replace") and is_stateful_type(change.type) and is_upstream_object(change.urn):
            assert change.danger, change
            name = old[change.urn].inputs["metadata"]["name"] if change.urn in old else ""
            if change.type.endswith(":PersistentVolumeClaim"):
                assert UPSTREAM_DATA[name] in change.reason


def test_databases_that_stay_are_kept(upgrade) -> None:
    # KFP's and Katib's MySQL claims keep their names and specs across the trains.
    for name in ("platform-apps-pipelines-pipelines:kubeflow/mysql-pv-claim",
                 "platform-apps-katib-katib:kubeflow/katib-mysql"):
        change = next((c for c in upgrade.changes if c.urn.endswith(f"::{name}")), None)
        assert change is None or change.op == "update", change


@pytest.mark.parametrize("release", ["1.8.1", "26.03"])
def test_upstream_claims_are_protected_through_their_directory(release: str) -> None:
    # Children inherit protect and retainOnDelete from their parent (pulumi/pulumi
    # cmd/pulumi-test-language/tests/l2_resource_parent_inheritance.go); mlplane protects
    # the directories that hold data.
    plan = expanded(release).plan
    claims = [r for r in plan if is_upstream_object(r.urn) and r.type == "kubernetes:core/v1:PersistentVolumeClaim"
              and r.inputs["metadata"]["name"] in UPSTREAM_DATA]
    assert len(claims) >= 3
    assert [r.name for r in claims if not (r.protect and r.retain_on_delete)] == []
