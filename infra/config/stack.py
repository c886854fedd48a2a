"""``StackConfig``: the one validated object a stack file becomes.

Each field is a section of the stack file, written there as ``mlplane:<section>``.
Sections validate on their own (see :mod:`infra.config.loader`); rules that span
sections are registered with :func:`infra.config.rules.rule` next to their sections.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PrivateAttr

from mlplane.components.base import ArgsModel
from mlplane.infra.config.accelerators import AcceleratorsConfig
from mlplane.infra.config.auth import AuthConfig
from mlplane.infra.config.cluster import ClusterConfig
from mlplane.infra.config.images import ImagesConfig
from mlplane.infra.config.kubeflow import KubeflowConfig
from mlplane.infra.config.credentials import pipelines_access_needs_pipelines_and_notebooks  # noqa: F401
from mlplane.infra.config.gateway import gateway_fits_its_mode_and_cluster  # noqa: F401  (registers the rule)
from mlplane.infra.config.gateway import exposed_gateway_needs_login_and_tls  # noqa: F401  (registers the rule)
from mlplane.infra.config.namespaces import namespaces_have_one_owner  # noqa: F401  (registers the rule)
from mlplane.infra.config.sources import source_folders_hold_the_release  # noqa: F401  (registers the rule)
from mlplane.infra.config.pipelines import PipelinesConfig
from mlplane.infra.config.serving import ServingConfig
from mlplane.infra.config.source import StackSource
from mlplane.infra.config.storage import StorageConfig
from mlplane.infra.config.workbenches import WorkbenchesConfig

#: The namespace of mlplane's own keys in a stack file's ``config:`` map.
NAMESPACE = "mlplane"


class StackConfig(ArgsModel):
    """Everything an mlplane stack file says, validated."""

    cluster: ClusterConfig = Field(description="The cluster the plan targets and how to reach it.")
    accelerators: AcceleratorsConfig | None = Field(
        None,
        description="Accelerator pools (NVIDIA, AMD, Intel; GPU sharing) and device enablement. Default: none "
        "(CPU only).",
    )
    storage: StorageConfig | None = Field(
        None, description="Storage classes, model and data volumes, and the artifact store. Default: none.",
    )
    kubeflow: KubeflowConfig | None = Field(
        None,
        description="The platform: Kubeflow release train, components, ingress and profiles. "
        "Default: none (no add-ons, no Kubeflow).",
    )
    auth: AuthConfig = Field(
        default_factory=AuthConfig,
        description="Who logs in: Dex static users or an upstream OIDC provider, and oauth2-proxy.",
    )
    pipelines: PipelinesConfig = Field(
        default_factory=list,
        description="Pipelines whose steps run as part of the plan: native mlplane pipelines or unmodified "
        "KFP v1 files. Default: none.",
    )
    serving: ServingConfig | None = Field(
        None,
        description="Model endpoints (KServe or plain Deployments) and web apps, routed, encrypted and "
        "authenticated. Default: none.",
    )

    workbenches: WorkbenchesConfig | None = Field(
        None,
        description="Notebook servers (Jupyter, VS Code, RStudio) and TensorBoards, per profile. Default: none.",
    )

    images: ImagesConfig = Field(
        default_factory=ImagesConfig,
        description="How images must be pinned: a version tag (default) or a @sha256 digest (require_digest).",
    )

    _source: StackSource | None = PrivateAttr(default=None)

    @property
    def source(self) -> StackSource:
        """Where this config came from (stack name, file, folder for relative paths)."""
        if self._source is None:
            return StackSource(stack="test", file=Path("Pulumi.test.yaml"), base_dir=Path.cwd())
        return self._source

    def with_source(self, source: StackSource) -> "StackConfig":
        """Return this config bound to the stack file it came from."""
        bound = self.model_copy()
        bound._source = source
        return bound


def section_names() -> list[str]:
    """The sections a stack file may set, as written there (``mlplane:<name>``)."""
    return list(StackConfig.model_fields)


def required_sections() -> list[str]:
    """The sections every stack file must set."""
    return [name for name, field in StackConfig.model_fields.items() if field.is_required()]
