"""The policy pack's rules over every stack's offline plan: no violations, no stale exceptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlplane.components.pod_security import image_problem
from mlplane.policy.exceptions import EXEMPTIONS
from mlplane.policy.offline import plan_entries, plan_violations
from mlplane.policy.rules import host_path, images, pod_security
from mlplane.policy.rules.base import ResourceContext, Violation

from . import plans
from .conftest import STACKS, rendered
from .test_pipelines_stack import SEED, kfp_stack, render

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_keeps_every_promise(stack: str) -> None:
    violations = plan_violations(rendered(stack))
    assert violations == [], "\n".join(f"{v.policy}: {v.urn}: {v.message}" for v in violations)


def test_plan_json_documents_are_judged_like_plans() -> None:
    plan = rendered("onprem")
    assert plan_violations(json.loads(plan.to_json_text())) == plan_violations(plan) == []
    assert len(plan_entries(json.loads(plan.to_json_text()))) == len(plan_entries(plan)) > 50


def test_plan_violations_finds_broken_promises() -> None:
    bad = plans.plan(
        plans.job("train"),  # no security context, no resources, image "trainer:v1"
        plans.pvc("data", protect=False, retain_on_delete=False),
        plans.namespace("ml"),
    )
    found = plan_violations(bad)
    assert all(isinstance(v, Violation) for v in found)
    by_policy = {v.policy for v in found}
    assert by_policy == {"pod-security-restricted", "resources-requests-limits", "stateful-resources-protected",
                         "namespace-guardrails"}
    assert {v.urn for v in found if v.policy == "namespace-guardrails"} == {plans.namespace("ml").urn}
    opted_out = plan_violations(bad, config={"stateful-resources-protected": {"unprotected": ["data"]}})
    assert "stateful-resources-protected" not in {v.policy for v in opted_out}


def _used_exemptions() -> set[tuple[str, str, str]]:
    """Exceptions that some stack needs: without them, the rule would report that object."""
    used: set[tuple[str, str, str]] = set()
    for stack in STACKS:
        for entry in plan_entries(rendered(stack)):
            raw_checks = {check for check, _ in pod_security.problems(entry.type, entry.inputs)}
            for exemption in EXEMPTIONS:
                if not exemption.covers(entry.type, entry.inputs):
                    continue
                key = (exemption.policy, exemption.kind, exemption.name)
                if exemption.policy == pod_security.NAME and exemption.waives <= raw_checks:
                    used.add(key)
                if exemption.policy == host_path.NAME:
                    paths = {v.get("hostPath", {}).get("path") for t in pod_security.pod_templates(
                        entry.type, entry.inputs) for v in t.spec.get("volumes") or []}
                    if exemption.waives <= paths:
                        used.add(key)
    return used


def test_every_exception_is_needed_by_some_stack() -> None:
    """No stale exceptions: each one, and everything it waives, is needed by a rendered stack."""
    declared = {(e.policy, e.kind, e.name) for e in EXEMPTIONS}
    assert _used_exemptions() == declared


def test_kfp_v1_allow_unpinned_images_is_recognised_from_the_objects(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    document = render(tmp_path, kfp_stack(tmp_path, SEED, allow_unpinned_images=True, runner_permissions=True),
                      capsys)
    assert plan_violations(document) == []
    marked = [r for r in document["resources"]
              if (r["inputs"].get("metadata") or {}).get("annotations", {}).get(images.ALLOW_UNPINNED_ANNOTATION)]
    # Exactly the steps whose images are unpinned (the seed's web UI uses `:latest`) carry the marker.
    unpinned = {r["name"] for r in document["resources"] if r["type"] == "kubernetes:batch/v1:Job"
                and any(image_problem(c["image"]) for c in r["inputs"]["spec"]["template"]["spec"]["containers"])}
    assert {r["name"] for r in marked} == unpinned
    assert "pipeline-mnist-v1-web-ui-job" in unpinned
    for resource in marked:  # without the marker, the same objects break the promise
        del resource["inputs"]["metadata"]["annotations"][images.ALLOW_UNPINNED_ANNOTATION]
        assert images.check(resource["type"], resource["inputs"], ResourceContext())
