"""Plans that do not depend on where the project is checked out.

A stack may name local folders as sources (``mlplane:kubeflow.sources``, relative to the
stack file); the components get them as absolute paths, because that is what Helm and
kustomize read. Recorded as they are, those paths would make two checkouts of the same
tree render different plans (and put the user's home folder in a reviewed file). The
plan therefore records every path inside the project root relative to it, after the
expansion has read the real folders; a directory's ordering wrapper
(:func:`components.sources.wrapper_path`) gets its wrapped location made relative the same way.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlplane.components.sources import wrapped_location, wrapper_path
from mlplane.infra.offline.plan import Plan


def portable_plan(plan: Plan, root: Path) -> Plan:
    """``plan`` with every string that is a path inside ``root`` made relative to ``root``.

    Args:
        plan: A rendered (and expanded) plan.
        root: The project root: the stack file's folder.

    Returns:
        The same plan, paths inside ``root`` as ``relative/posix/path`` (``.`` for the
        root itself). Paths outside it stay as they are: the stack file named them so.
    """
    base = os.path.abspath(root)
    prefix = base.rstrip(os.sep) + os.sep

    def portable(value: Any) -> Any:
        if isinstance(value, str):
            wrapped = wrapped_location(value)  # a directory's ordering wrapper names the folder in its path
            if wrapped is not None:
                return wrapper_path(portable(wrapped[0]), wrapped[1])
            if value == base:
                return "."
            if value.startswith(prefix):
                return Path(os.path.relpath(value, base)).as_posix()
            return value
        if isinstance(value, dict):
            return {key: portable(item) for key, item in value.items()}
        if isinstance(value, list):
            return [portable(item) for item in value]
        return value

    resources = []
    for resource in plan:
        inputs = portable(resource.inputs)
        resources.append(resource if inputs == resource.inputs else replace(resource, inputs=inputs))
    return Plan(plan.project, plan.stack, tuple(resources))
