"""KFP v1's run-time placeholders, substituted when the plan is made.

KFP 1.8.22 defines ``dsl.RUN_ID_PLACEHOLDER = '{{workflow.uid}}'`` and
``dsl.EXECUTION_ID_PLACEHOLDER = '{{workflow.uid}}-{{pod.name}}'`` (kfp/dsl/__init__.py);
Argo fills them in when a run starts. In a plan a run is one declaration of the
pipeline: its run id is a digest of the whole pipeline as declared (placeholders still
as text), so every step sees the same id, and any change to any step makes a new one
(as a new KFP run would). ``{{pod.name}}`` becomes the step's Job name and
``{{workflow.name}}`` the pipeline's name. Nothing of the form is left as text.
"""

from __future__ import annotations

import hashlib
import re

from mlplane.core.naming import k8s_name
from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec

_ANY = re.compile(r"\{\{(workflow|pod)\.[^}]*\}\}")
RUN_ID_CHARS = 12


class PlaceholderError(ValueError):
    """A KFP/Argo placeholder that has no value when the plan is made."""


def run_id(spec: PipelineSpec) -> str:
    """The pipeline's run id: a digest of its declaration."""
    return hashlib.sha256(spec.model_dump_json().encode("utf-8")).hexdigest()[:RUN_ID_CHARS]


def substitute_run_placeholders(spec: PipelineSpec) -> PipelineSpec:
    """``spec`` with ``{{workflow.uid}}``, ``{{workflow.name}}`` and ``{{pod.name}}`` substituted.

    Raises:
        PlaceholderError: Another ``{{workflow.*}}`` or ``{{pod.*}}`` placeholder is used.
    """
    text = spec.model_dump_json()
    if not _ANY.search(text):
        return spec
    uid = run_id(spec)
    steps = []
    for step in spec.steps:
        body = step.model_dump_json()
        if isinstance(step, ContainerStepSpec):
            body = body.replace("{{pod.name}}", k8s_name(spec.name, step.name))
        body = body.replace("{{workflow.uid}}", uid).replace("{{workflow.name}}", k8s_name(spec.name))
        left = _ANY.search(body)
        if left:
            raise PlaceholderError(f"step {step.name!r} uses {left.group(0)}, which has no value when the plan is "
                                   "made (known: {{workflow.uid}}, {{workflow.name}}, {{pod.name}})")
        steps.append(type(step).model_validate_json(body))
    return spec.model_copy(update={"steps": tuple(steps)})
