"""Diff rules: create/update/replace/delete/same, immutable fields, danger, aliases."""

from __future__ import annotations

import dataclasses
import json

from mlplane.infra.offline.diff import diff_plans
from mlplane.infra.offline.report import format_json, format_markdown, format_text

from mlplane.infra.offline.plan import PlanResource

from .plans import deployment, job, k8s, namespace, plan, pvc, storage_class


def test_identical_plans_are_all_same() -> None:
    diff = diff_plans(plan(job(), pvc()), plan(job(), pvc()))
    assert diff.summary() == {"create": 0, "update": 0, "replace": 0, "delete": 0, "same": 2}
    assert not diff.changes


def test_each_operation_is_classified() -> None:
    old = plan(job(), deployment(), deployment("gone"), pvc())
    new = plan(job(args=("--steps", "400")), deployment(image="web:v2"), deployment("fresh"), pvc())
    diff = diff_plans(old, new)
    assert diff.summary() == {"create": 1, "update": 1, "replace": 1, "delete": 1, "same": 1}
    assert diff.find("fresh").op == "create"
    assert diff.find("web").op == "update"
    assert diff.find("web").paths == ("spec.template.spec.containers[name=main].image",)
    assert diff.find("train").op == "replace"
    assert diff.find("gone").op == "delete"


def test_job_template_change_is_a_replacement() -> None:
    diff = diff_plans(plan(job()), plan(job(args=("--steps", "400"))))
    change = diff.find("train")
    assert change.op == "replace"
    assert change.paths == ("spec.template.spec.containers[name=main].args[1]",)
    assert "spec.template" in change.reason or "immutable" in change.reason
    assert not change.danger


def test_job_label_change_is_an_update() -> None:
    changed = job()
    changed.inputs["metadata"]["labels"]["team"] = "ml"
    assert diff_plans(plan(job()), plan(changed)).find("train").op == "update"


def test_deployment_selector_change_is_a_replacement() -> None:
    assert diff_plans(plan(deployment()), plan(deployment(selector="web2"))).find("web").op == "replace"


def test_renaming_the_object_is_a_replacement() -> None:
    renamed = deployment()
    renamed.inputs["metadata"]["name"] = "web-2"
    assert diff_plans(plan(deployment()), plan(renamed)).find("web").op == "replace"


def test_pvc_deletion_is_dangerous() -> None:
    diff = diff_plans(plan(pvc(), job()), plan(job()))
    change = diff.find("data")
    assert change.op == "delete" and change.danger
    assert diff.has_danger
    assert "DANGER" in change.reason


def test_pvc_storage_increase_is_an_update_and_safe() -> None:
    # On a class that allows expansion (see tests/test_upstream_behaviours.py for the others).
    change = diff_plans(plan(pvc(), storage_class()), plan(pvc(size="20Gi"), storage_class())).find("data")
    assert change.op == "update" and not change.danger


def test_pvc_storage_decrease_or_class_change_replaces_dangerously() -> None:
    for changed in (pvc(size="5Gi"), pvc(storage_class="fast")):
        change = diff_plans(plan(pvc()), plan(changed)).find("data")
        assert change.op == "replace" and change.danger


def test_protected_resource_without_data_is_marked_protected_not_danger() -> None:
    # Dangers are about data and availability: a protected Deployment holds no data. Its
    # replacement is delete-first (a named object keeps its name), so it says the outage.
    old, new = deployment(protect=True), deployment(selector="x", protect=True)
    change = diff_plans(plan(old), plan(new)).find("web")
    assert change.op == "replace" and not change.danger and change.protected
    assert "protected: `pulumi up` refuses to delete or replace it" in change.reason
    assert "deleted first (pulumi-kubernetes replaces a named object so)" in change.reason
    assert change.to_json()["protected"] is True and "dangerKind" not in change.to_json()


def test_namespace_deletion_with_volumes_inside_is_dangerous() -> None:
    diff = diff_plans(plan(namespace(), pvc()), plan(pvc()))
    change = diff.find("ml-ns")
    assert change.op == "delete" and change.danger and "'data'" in change.reason


def test_namespace_deletion_without_volumes_is_safe() -> None:
    assert not diff_plans(plan(namespace(), job()), plan(job())).find("ml-ns").danger


def test_replace_on_changes_forces_replacement() -> None:
    old = deployment(replace_on_changes=("spec.template.spec.containers[*].image",))
    new = deployment(image="web:v2", replace_on_changes=("spec.template.spec.containers[*].image",))
    change = diff_plans(plan(old), plan(new)).find("web")
    assert change.op == "replace" and "replaceOnChanges" in change.reason


def test_ignored_changes_do_not_count() -> None:
    old = deployment(ignore_changes=("spec.template.spec.containers",))
    new = deployment(image="web:v2", ignore_changes=("spec.template.spec.containers",))
    assert diff_plans(plan(old), plan(new)).summary()["same"] == 1


def test_option_change_is_an_update() -> None:
    change = diff_plans(plan(pvc()), plan(pvc(protect=True))).find("data")
    assert change.op == "update" and change.paths == ("options.protect",)


def test_provider_change_is_a_replacement() -> None:
    moved = pvc(provider="urn:pulumi:t::mlplane::pulumi:providers:kubernetes::other")
    change = diff_plans(plan(pvc()), plan(moved)).find("data")
    assert change.op == "replace" and change.danger


def test_alias_turns_a_rename_into_an_update() -> None:
    old = pvc()
    renamed = dataclasses.replace(pvc(), urn=old.urn.replace("::data", "::volume"), name="volume",
                                  aliases=(old.urn,))
    diff = diff_plans(plan(old), plan(renamed))
    assert diff.summary() == {"create": 0, "update": 1, "replace": 0, "delete": 0, "same": 0}
    assert not diff.has_danger


def test_rename_without_alias_deletes_dangerously() -> None:
    old = pvc()
    renamed = dataclasses.replace(pvc(), urn=old.urn.replace("::data", "::volume"), name="volume")
    diff = diff_plans(plan(old), plan(renamed))
    assert diff.summary()["delete"] == 1 and diff.summary()["create"] == 1 and diff.has_danger


def test_formats_show_the_same_changes() -> None:
    diff = diff_plans(plan(pvc(), job()), plan(job(args=("x",))))
    text, markdown, data = format_text(diff), format_markdown(diff), format_json(diff)
    assert "0 to create, 0 to update, 1 to replace, 1 to delete, 0 unchanged" in text
    assert "DANGER" in text and ":warning:" in markdown
    assert '"replace": 1' in data and '"danger": true' in data


def test_a_delete_and_create_of_one_kind_hint_at_formerly_and_two_do_not() -> None:
    from mlplane.infra.offline.report import format_markdown
    from tests.plans import component, under

    def volumes(*names: str):
        out = []
        for name in names:
            volume = component("mlplane:storage:Volume", f"volume-{name}")
            out += [volume, under(volume, pvc(f"volume-{name}-claim"))]
        return out

    diff = diff_plans(plan(*volumes("datasets", "models")), plan(*volumes("training-data", "models")))
    [hinted] = [c for c in diff.changes if c.hint]
    assert hinted.op == "delete" and hinted.name == "volume-datasets"
    assert hinted.hint == ("looks like a rename of datasets to training-data: `formerly: [datasets]` on volume "
                           "training-data (mlplane:storage.volumes) keeps its identity; without it its data is "
                           "destroyed")
    assert "hint: looks like a rename of datasets to training-data" in format_markdown(diff)
    assert diff.to_json()["changes"][[c.urn for c in diff.changes].index(hinted.urn)]["hint"] == hinted.hint
    # Two volumes gone and two new: which became which would be a guess.
    two = diff_plans(plan(*volumes("a", "b")), plan(*volumes("c", "d")))
    assert not any(c.hint for c in two.changes)
    # A pipeline step's rename is said in renamed_steps; a step outside a pipeline is no step.
    pipeline = component("mlplane:pipeline:Pipeline", "pipeline-mnist")
    step = lambda name: component("mlplane:pipeline:ContainerStep", f"pipeline-mnist-{name}", parent=pipeline.urn)  # noqa: E731
    steps = diff_plans(plan(pipeline, step("train")), plan(pipeline, step("fit")))
    assert [c.hint for c in steps.changes if c.hint] == [
        "looks like a rename of train to fit: `renamed_steps: {fit: [train]}` on the pipeline (mlplane:pipelines) "
        "keeps its identity"]


def test_a_chart_going_down_a_version_is_a_warning_in_every_format() -> None:
    from mlplane.infra.offline.downgrades import version_key
    from tests.plans import component

    def chart(version: str, ref: str):
        return (component("kubernetes:helm.sh/v4:Chart", "platform-auth-dex", chart="dex", version=version),
                component("kubernetes:kustomize/v2:Directory", "platform-apps-profiles",
                          directory=f"https://github.com/kubeflow/manifests//applications/profiles?ref={ref}"))

    down = diff_plans(plan(*chart("0.24.0", "26.03")), plan(*chart("0.14.3", "v1.8.1")))
    [warning] = down.warnings
    assert warning.startswith("Downgrade: Kubeflow manifests 26.03 → v1.8.1, chart dex 0.24.0 → 0.14.3. ")
    assert f"WARNING: {warning}" in format_text(down)
    assert f":warning: **{warning}**" in format_markdown(down)
    assert json.loads(format_json(down))["warnings"] == [warning]
    assert diff_plans(plan(*chart("0.14.3", "v1.8.1")), plan(*chart("0.24.0", "26.03"))).warnings == ()
    assert diff_plans(plan(*chart("0.24.0", "26.03")), plan(*chart("0.24.0", "26.03.1"))).warnings == ()
    assert version_key("v1.19.4") > version_key("v1.12.2") and version_key("26.03") > version_key("v1.8.1")
    assert version_key("0.16.0-rc1") == (0, 16, 0) and version_key("latest") is None


def test_plans_of_two_stacks_are_said_to_be_so() -> None:
    """URNs name the stack, so a diff across stacks deletes and creates everything; the
    diff says why rather than leave a reader to believe the deletes."""
    old = plan(job(), pvc())
    renamed = [dataclasses.replace(r, urn=r.urn.replace("urn:pulumi:t::", "urn:pulumi:u::")) for r in old]
    new = dataclasses.replace(old, stack="u", resources=tuple(renamed))
    diff = diff_plans(old, new)
    assert diff.summary()["delete"] == 2 and diff.summary()["create"] == 2
    warning = "the plans are of different stacks ('t', then 'u')"
    assert warning in diff.warnings[0]
    for text in (format_text(diff), format_markdown(diff), json.dumps(format_json(diff))):
        assert warning in text
    assert not diff_plans(old, plan(job(), pvc())).warnings


def test_a_gpu_pool_replaced_delete_first_says_its_work_is_evicted() -> None:
    """A fixed-name node pool is replaced delete-first: no data is lost (no danger), but the
    reviewer is told the pool is gone, and its work evicted, until the new one is up."""
    def agent_pool(vm_size: str) -> PlanResource:
        return dataclasses.replace(
            k8s("azure-native:containerservice:AgentPool", "pool-a100-agent-pool",
                {"agentPoolName": "a100", "vmSize": vm_size}, provider=None),
            delete_before_replace=True)

    change = diff_plans(plan(agent_pool("Standard_NC24ads_A100_v4")),
                        plan(agent_pool("Standard_NC48ads_A100_v4"))).find("pool-a100-agent-pool")
    assert (change.op, change.danger) == ("replace", False)
    assert change.reason.startswith("deleted first (deleteBeforeReplace): AgentPool 'pool-a100-agent-pool' is gone "
                                    "until its replacement is up; its nodes are drained, and the work placed on "
                                    "the pool is evicted")
    assert "vmSize" in change.reason
    # Without deleteBeforeReplace (create first) nothing is gone meanwhile: no such line.
    plain = diff_plans(plan(k8s("azure-native:containerservice:AgentPool", "p", {"vmSize": "a"}, provider=None)),
                       plan(k8s("azure-native:containerservice:AgentPool", "p", {"vmSize": "b"}, provider=None)))
    assert "deleted first" not in plain.find("p").reason


def test_cloud_node_pools_are_replaced_delete_first() -> None:
    from .conftest import rendered

    for stack, name in (("aks", "pool-a100-agent-pool"), ("gke", "pool-a100-node-pool")):
        assert rendered(stack).named(name).delete_before_replace, (stack, name)
