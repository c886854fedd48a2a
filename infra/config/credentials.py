"""Rules of the generated credentials and of KFP access from notebooks (``mlplane:kubeflow``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mlplane.components.platform.resolve import resolve
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

SECTION = "mlplane:kubeflow"


@rule
def pipelines_access_needs_pipelines_and_notebooks(config: "StackConfig") -> Iterator[Finding]:
    """A profile's ``pipelines_access`` needs KFP (the API) and notebooks (the PodDefault webhook)."""
    if config.kubeflow is None:
        return
    components = resolve(config.kubeflow)
    missing = [key for key in ("pipelines", "notebooks") if not components[key].enabled]
    for index, profile in enumerate(config.kubeflow.profiles):
        if profile.pipelines_access and missing:
            yield Finding((SECTION, "profiles", index, "pipelines_access"),
                          f"needs components {' and '.join(missing)}, which are off", True,
                          "pipelines_access: false, or enable " + " and ".join(missing))
