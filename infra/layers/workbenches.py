"""The workbenches layer: each profile's notebook servers and TensorBoards.

Everything was checked while the config loaded (:mod:`infra.config.workbenches`); this
layer resolves images, security, placement and storage classes and declares a
``Workbench`` per notebook and a ``Board`` per TensorBoard, after the profile (its
namespace, its default-editor ServiceAccount) and the controllers that serve them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from mlplane.components.pod_security import ComputeResources
from mlplane.components.renames import aliases
from mlplane.components.storage.rules import claim_protected
from mlplane.components.workbench.notebook import Workbench, WorkbenchArgs
from mlplane.components.workbench.spec import NotebookSpec
from mlplane.components.workbench.tensorboard import Board, BoardArgs
from mlplane.infra.config.workbenches import notebook_image, release_of, runs_restricted
from mlplane.infra.layers.capacity import CapacityFacts
from mlplane.infra.layers.context import StackContext
from mlplane.infra.layers.platform import PlatformFacts
from mlplane.infra.layers.serving import ServingFacts

#: A notebook server's CPU and memory when the stack says nothing: the spawner's defaults
#: (0.5 CPU, 1Gi) with its limit factor 1.2 (spawner_ui_config.yaml, cpu and memory).
NOTEBOOK_RESOURCES = ComputeResources(cpu_request="500m", cpu_limit="600m", memory_request="1Gi",
                                      memory_limit="1229Mi")


@dataclass(frozen=True)
class WorkbenchesFacts:
    """What the workbenches layer made.

    Attributes:
        notebooks: ``Workbench`` components by ``<profile>/<name>``.
        tensorboards: ``Board`` components by ``<profile>/<name>``.
    """

    notebooks: dict[str, Workbench]
    tensorboards: dict[str, Board]

    __hash__ = None  # type: ignore[assignment]


def notebook_resource_name(profile: str, name: str) -> str:
    """The Pulumi name of a notebook's ``Workbench``."""
    return f"notebook-{profile}-{name}"


def board_resource_name(profile: str, name: str) -> str:
    """The Pulumi name of a TensorBoard's ``Board``."""
    return f"tensorboard-{profile}-{name}"


def workbench_args(spec: NotebookSpec, ctx: StackContext, capacity: CapacityFacts,
                   serving: ServingFacts) -> WorkbenchArgs:
    """A notebook's resolved args (image, security, resources, placement, classes, store)."""
    config = ctx.config
    release = release_of(config)
    default_class = capacity.default_storage_class
    # Users' notebook volumes are platform data: they follow the switch that protects profiles.
    protect = config.kubeflow.protect_data if config.kubeflow is not None else True
    return WorkbenchArgs(
        spec=spec,
        image=notebook_image(spec, release),
        restricted=runs_restricted(spec, release),
        resources=spec.resources.resolve(NOTEBOOK_RESOURCES),
        placement=capacity.place(spec.accelerator) if spec.accelerator is not None else None,
        workspace_class=spec.workspace.storage_class or default_class,
        data_classes={v.name: v.storage_class or default_class for v in spec.data_volumes if v.size is not None},
        store=serving.context.store if spec.artifact_access else None,
        protect=claim_protected(spec.protect, protect),
        pipelines_access=config.kubeflow is not None and any(
            p.name == spec.profile and p.pipelines_access for p in config.kubeflow.profiles),
    )


def declare_workbenches(ctx: StackContext, platform: PlatformFacts, capacity: CapacityFacts,
                        serving: ServingFacts) -> WorkbenchesFacts:
    """Declare the notebook servers and TensorBoards of ``mlplane:workbenches``."""
    facts = WorkbenchesFacts(notebooks={}, tensorboards={})
    spec = ctx.config.workbenches
    if spec is None or platform.platform is None:
        return facts
    kubeflow = platform.platform
    installed = kubeflow.apps.installed  # type: ignore[attr-defined]
    profiles = kubeflow.profiles.profiles if kubeflow.profiles is not None else {}  # type: ignore[attr-defined]
    notebook_controller = [r for key, r in installed.items() if key.startswith("notebooks/")]
    board_controller = [r for key, r in installed.items() if key.startswith("tensorboards/")]
    from mlplane.components.platform.namespaces import profile_role

    def after(profile: str, controller: list[pulumi.Resource], *more: pulumi.Resource) -> list[pulumi.Resource]:
        return [platform.namespaces[profile_role(profile)], profiles[profile], *controller, *more]

    for notebook in spec.notebooks:
        def resource_name(name: str, profile: str = notebook.profile) -> str:
            return notebook_resource_name(profile, name)

        store = list(capacity.storage_resources) if notebook.artifact_access else []
        facts.notebooks[f"{notebook.profile}/{notebook.name}"] = Workbench(
            resource_name(notebook.name), workbench_args(notebook, ctx, capacity, serving),
            ctx.opts(depends_on=after(notebook.profile, notebook_controller, *store),
                     aliases=aliases(notebook.formerly, resource_name)))
    for board in spec.tensorboards:
        def board_name(name: str, profile: str = board.profile) -> str:
            return board_resource_name(profile, name)

        extra: list[pulumi.Resource] = []
        claim_name = board.claim
        if board.notebook is not None:
            workbench = facts.notebooks[f"{board.profile}/{board.notebook}"]
            owner = next(n for n in spec.notebooks if n.profile == board.profile and n.name == board.notebook)
            volume = next((v for v in owner.data_volumes if v.name == board.volume), None)
            claim_name = owner.data_claim(volume) if volume is not None else owner.workspace_claim
            made = workbench.claims.get(volume.name if volume is not None else "workspace")
            extra += [made] if made is not None else []
        assert claim_name is not None
        facts.tensorboards[f"{board.profile}/{board.name}"] = Board(
            board_name(board.name), BoardArgs(spec=board, claim=claim_name),
            ctx.opts(depends_on=after(board.profile, board_controller, *extra),
                     aliases=aliases(board.formerly, board_name)))
    pulumi.export("workbenches", {key: f"/notebook/{key}/" for key in facts.notebooks})
    return facts
