"""``mlplane:workbenches``: notebook servers and TensorBoards, declared per profile.

The section's model is :class:`components.workbench.spec.WorkbenchesSpec`. The rules
here check it against the rest of the stack: the profile exists, the release offers the
image (or it is the team's own, pinned), the accelerator request fits a pool, classes
are declared, the artifact store exists, names are unique per profile, and a workspace
never shrinks (against the stack's saved baseline plan, ``mlplane preview --save``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplane.components.pod_security import image_problem
from mlplane.components.quantity import parse_quantity
from mlplane.components.renames import name_clashes
from mlplane.components.scheduling import SchedulingError, place, pools_for
from mlplane.components.storage.rules import claim_issues
from mlplane.components.workbench.images import (
    NOTEBOOK_IMAGES,
    by_short_name,
    cuda_image,
    cuda_sibling,
    default_image,
    is_short_name,
    offered,
    short_name,
)
from mlplane.components.workbench.spec import NotebookSpec, WorkbenchesSpec
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig
    from mlplane.infra.config.source import StackSource

SECTION = "mlplane:workbenches"

WorkbenchesConfig = WorkbenchesSpec

#: The claim kind as plan.json records it, and the component that owns a notebook's claims.
_CLAIM_TYPE = "kubernetes:core/v1:PersistentVolumeClaim"
_WORKBENCH_TYPE = "mlplane:workbench:Workbench"


def release_of(config: "StackConfig") -> str:
    """The stack's Kubeflow release train (the default when it has no platform)."""
    from mlplane.components.platform.releases import DEFAULT_RELEASE

    return config.kubeflow.release if config.kubeflow is not None else DEFAULT_RELEASE


def notebook_image(spec: NotebookSpec, release: str) -> str:
    """The server's image: the one named, or the spawner's default for its kind."""
    if spec.image is None:
        return default_image(release, spec.kind)
    if is_short_name(spec.image) and not spec.custom_image:
        return by_short_name(release, spec.kind, spec.image) or spec.image
    return spec.image


def runs_restricted(spec: NotebookSpec, release: str) -> bool:
    """Whether the server's container runs with the restricted security context.

    The 1.8.1 release images do not start as non-root without privilege escalation
    (kubeflow/kubeflow#5808, fixed in the v1.9 images by kubeflow/kubeflow#7622, which
    26.03's v1.10.0 images include): they run at ``baseline`` unless the spec says so.
    """
    if spec.security is not None:
        return spec.security == "restricted"
    image = notebook_image(spec, release)
    return not (release == "1.8.1" and image in NOTEBOOK_IMAGES["1.8.1"][spec.kind])


@dataclass(frozen=True)
class RecordedClaim:
    """A claim as a saved plan records it.

    Attributes:
        size: Its requested storage.
        protect: Whether Pulumi protects it (a protected resource is never deleted).
        workbench: Whether a notebook server (``mlplane:workbench:Workbench``) owns it.
    """

    size: str
    protect: bool
    workbench: bool


def recorded_claims(path: Path) -> dict[tuple[str, str], RecordedClaim]:
    """``{(namespace, claim): RecordedClaim}`` of every claim a saved plan records (empty if none or unreadable)."""
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    claims: dict[tuple[str, str], RecordedClaim] = {}
    for resource in plan.get("resources", []) if isinstance(plan, dict) else []:
        if not isinstance(resource, dict) or resource.get("type") != _CLAIM_TYPE:
            continue
        inputs: Any = resource.get("inputs") or {}
        try:
            meta, size = inputs["metadata"], inputs["spec"]["resources"]["requests"]["storage"]
            claims[(str(meta["namespace"]), str(meta["name"]))] = RecordedClaim(
                str(size), resource.get("protect") is True, _WORKBENCH_TYPE in str(resource.get("parent") or ""))
        except (KeyError, TypeError):
            continue
    return claims


def shrinks(before: str, after: str) -> bool:
    """Whether a claim would get smaller (Kubernetes cannot shrink a claim; it would be replaced)."""
    try:
        return parse_quantity(after) < parse_quantity(before)
    except ValueError:
        return False


@rule
def workbenches_fit_the_stack(config: "StackConfig") -> Iterator[Finding]:
    """Profiles, images, pools, classes, store, unique names, workspaces that never shrink."""
    spec: WorkbenchesSpec | None = getattr(config, "workbenches", None)
    claims = recorded_claims(config.source.baseline)
    # Servers dropped from the stack count too, the whole section with them.
    yield from _dropped_claim_findings(spec or WorkbenchesSpec(), claims, config.source)
    if spec is None or not (spec.notebooks or spec.tensorboards):
        return
    if config.kubeflow is None:
        yield Finding((SECTION,), "workbenches run in Kubeflow profiles, and the stack has no mlplane:kubeflow",
                      allowed="declare mlplane:kubeflow with profiles")
        return
    from mlplane.components.platform.resolve import resolve

    components = resolve(config.kubeflow)
    release = config.kubeflow.release
    profiles = {p.name: p for p in config.kubeflow.profiles}
    known = ", ".join(profiles) or "none declared; add mlplane:kubeflow.profiles"
    if spec.notebooks and not components["notebooks"].available:
        yield Finding((SECTION, "notebooks"), "notebook servers need Kubeflow's notebook controller, which the "
                      "stack does not install", allowed="enable mlplane:kubeflow.components.notebooks")
    if spec.tensorboards and not components["tensorboards"].available:
        yield Finding((SECTION, "tensorboards"), "TensorBoards need Kubeflow's tensorboard controller, which the "
                      "stack does not install", allowed="enable mlplane:kubeflow.components.tensorboards")
    culling = config.kubeflow.components.notebooks.culling
    store = config.storage.artifacts if config.storage is not None else None
    pools = pools_for(config)
    recorded = {key: claim.size for key, claim in claims.items()}
    for profile in profiles:
        members = [(i, n) for i, n in enumerate(spec.notebooks) if n.profile == profile]
        for local, key, held, _ in name_clashes([n for _, n in members]):
            yield Finding((SECTION, "notebooks", members[local][0], key), f"notebook name used twice in profile "
                          f"{profile} (current and earlier names count: their workspaces would collide)", held,
                          "unique names per profile")
        boards = [(i, b) for i, b in enumerate(spec.tensorboards) if b.profile == profile]
        for local, key, held, _ in name_clashes([b for _, b in boards]):
            yield Finding((SECTION, "tensorboards", boards[local][0], key),
                          f"TensorBoard name used twice in profile {profile}", held, "unique names per profile")
    for index, notebook in enumerate(spec.notebooks):
        base = (SECTION, "notebooks", index)
        if notebook.profile not in profiles:
            yield Finding((*base, "profile"), "not a profile of mlplane:kubeflow.profiles", notebook.profile, known)
            continue
        yield from _image_findings(base, notebook, release)
        if culling.enabled and notebook.kind != "jupyter" and not notebook.stopped \
                and not culling.stop_busy_vscode_rstudio:
            yield Finding((*base, "kind"), f"with mlplane:kubeflow.components.notebooks.culling.enabled, the notebook "
                          f"controller stops this {notebook.kind} server {culling.idle_minutes} minutes after it "
                          "starts, busy or not: its culler measures activity only through Jupyter's /api/kernels",
                          notebook.kind, "kind: jupyter, culling off, or culling.stop_busy_vscode_rstudio: true")
        if profiles[notebook.profile].pod_security == "restricted" and not runs_restricted(notebook, release):
            yield Finding((*base, "security"), f"profile {notebook.profile} enforces Pod Security restricted, and "
                          "this server runs at baseline", notebook.security or "baseline (the 1.8.1 images)",
                          "security: restricted with an image that runs so, or a baseline profile")
        if notebook.accelerator is not None:
            try:
                placement = place(notebook.accelerator, pools, stack=config.source.stack)
            except SchedulingError as exc:
                yield Finding((*base, "accelerator"), str(exc), notebook.accelerator.model_dump(exclude_none=True),
                              "a request one of mlplane:accelerators.pools satisfies")
            else:
                vendor = next(p.vendor for p in pools if p.name == placement.pool)
                yield from _accelerator_image_findings(base, notebook, release, vendor)
        yield from _claim_findings(base, notebook, config.storage.classes if config.storage is not None else ())
        if notebook.artifact_access and store is None:
            yield Finding((*base, "artifact_access"), "the stack has no artifact store", True,
                          "declare mlplane:storage.artifacts, or artifact_access: false")
        yield from _shrink_findings(base, notebook, recorded, config.source)
    for index, board in enumerate(spec.tensorboards):
        base = (SECTION, "tensorboards", index)
        if board.profile not in profiles:
            yield Finding((*base, "profile"), "not a profile of mlplane:kubeflow.profiles", board.profile, known)
            continue
        if board.notebook is not None:
            same = [n.name for n in spec.notebooks if n.profile == board.profile]
            if board.notebook not in same:
                yield Finding((*base, "notebook"), f"not a notebook of profile {board.profile} in "
                              "mlplane:workbenches.notebooks", board.notebook, ", ".join(same) or "none declared")
            elif board.volume is not None:
                owner = next(n for n in spec.notebooks if n.profile == board.profile and n.name == board.notebook)
                names = [v.name for v in owner.data_volumes]
                if board.volume not in names:
                    yield Finding((*base, "volume"), f"not a data volume of notebook {board.notebook}", board.volume,
                                  ", ".join(names) or "none declared")


def _shrink_findings(base: tuple[Any, ...], notebook: NotebookSpec, recorded: dict[tuple[str, str], str],
                     source: StackSource) -> Iterator[Finding]:
    """Claims of the notebook smaller than the saved baseline records them.

    Kubernetes refuses to shrink a claim (kubernetes/kubernetes
    pkg/apis/core/validation/validation.go, ValidatePersistentVolumeClaimUpdate: "field can not
    be less than previous value"; with RecoverVolumeExpansionFailure, not below
    ``status.capacity``), and replacing the protected claim is refused by Pulumi: a smaller size
    would fail ``pulumi up`` halfway. The baseline is the only record of the size offline.
    """
    claims = [(("workspace", "size"), notebook.workspace_claim, notebook.workspace.size, "workspace")]
    claims += [(("data_volumes", i, "size"), notebook.data_claim(v), v.size, f"data volume {v.name}")
               for i, v in enumerate(notebook.data_volumes) if v.size is not None]
    for path, claim, size, what in claims:
        before = recorded.get((notebook.profile, claim))
        if before is not None and size is not None and shrinks(before, size):
            yield Finding((*base, *path), f"the {what} claim {claim} holds {before} in the saved baseline "
                          f"{source.baseline}; Kubernetes refuses to shrink a claim and mlplane protects it, so `pulumi up` "
                          f"would fail on it (if the baseline is stale, save a new one with `mlplane preview "
                          f"{source.command_argument} --save` at the larger size, or delete that file)", size,
                          f"{before} or more")


def _dropped_claim_findings(spec: WorkbenchesSpec, claims: dict[tuple[str, str], RecordedClaim],
                            source: StackSource) -> Iterator[Finding]:
    """Protected notebook claims of the baseline that no declared server keeps.

    Pulumi never deletes a protected resource, so such a stack would stop ``pulumi up``
    at the claim; usually the server was renamed without ``formerly``.
    """
    kept = {(n.profile, claim) for n in spec.notebooks
            for claim in (n.workspace_claim, *(n.data_claim(v) for v in n.data_volumes if v.size is not None))}
    for (namespace, name), claim in sorted(claims.items()):
        if not (claim.workbench and claim.protect) or (namespace, name) in kept:
            continue
        same = [n.name for n in spec.notebooks if n.profile == namespace]
        former = name.removesuffix("-workspace") if name.endswith("-workspace") else "<its old name>"
        yield Finding((SECTION, "notebooks"), f"the protected claim {namespace}/{name} of a notebook server in the "
                      f"saved baseline {source.baseline} belongs to no declared server, and Pulumi does not delete "
                      "protected resources: `pulumi up` would stop there", name,
                      (f"if a server of profile {namespace} ({', '.join(same)}) is that one renamed, `formerly: "
                       f"[{former}]` on it; " if same else "")
                      + "to keep the server's files, declare it again with stopped: true; to delete them, set "
                        f"protect: false on it, `pulumi up` and `mlplane preview {source.command_argument} --save` "
                        "first (docs/workbenches.md, Removing a server)")


def unchecked_shrink_note(config: "StackConfig") -> str | None:
    """What a render cannot check without a baseline: that no notebook claim shrinks, or None.

    The size a claim has on the cluster is known offline only from the saved baseline
    (``mlplane preview --save``); without one a smaller size is caught by the API server
    during ``pulumi up``, not here. The suggested command names the stack as the user did
    (``--stack NAME`` or ``--config-file PATH``): otherwise ``preview --save`` saves ``dev``'s.
    """
    spec: WorkbenchesSpec | None = getattr(config, "workbenches", None)
    if spec is None or not spec.notebooks or recorded_claims(config.source.baseline):
        return None
    return (f"no saved baseline ({config.source.baseline}), so notebook workspace and data volume sizes are not "
            "checked against the claims' current sizes: Kubernetes refuses to shrink a claim, and `pulumi up` "
            f"would fail on a smaller one. Save the plan you apply (`mlplane preview "
            f"{config.source.command_argument} --save`) to have a shrink refused here.")


def _claim_findings(base: tuple[Any, ...], notebook: NotebookSpec, classes: Sequence[Any]) -> Iterator[Finding]:
    """The storage rules of every claim (components.storage.rules), at the notebook's own keys.

    A data volume says ``shared`` rather than access modes: its access-mode issue is
    reported there, in the same words as a stack volume's.
    """
    claims = [(("workspace",), notebook.workspace.size, notebook.workspace.storage_class, ("ReadWriteOnce",))]
    claims += [(("data_volumes", i), v.size, v.storage_class, ("ReadWriteMany",) if v.shared else ("ReadWriteOnce",))
               for i, v in enumerate(notebook.data_volumes) if v.size is not None]
    for path, size, storage_class, modes in claims:
        for issue in claim_issues(size=size, access_modes=modes, storage_class=storage_class, classes=classes):
            if issue.path == ("access_modes",):
                yield Finding((*base, *path, "shared"), issue.message, True,
                              f"shared: false, or a class that allows ReadWriteMany (class {storage_class} allows "
                              f"{issue.allowed})")
            else:
                yield Finding((*base, *path, *issue.path), issue.message, issue.value, issue.allowed)
    for i, volume in enumerate(notebook.data_volumes):
        # The cluster's default class is not known to the plan: a shared claim needs a named NFS class.
        if volume.shared and volume.storage_class is None:
            yield Finding((*base, "data_volumes", i, "shared"), "only NFS classes can be mounted read-write by "
                          "many nodes", True, "storage_class: an nfs class of mlplane:storage.classes")


def _accelerator_image_findings(base: tuple[Any, ...], notebook: NotebookSpec, release: str,
                                vendor: str) -> Iterator[Finding]:
    """An NVIDIA GPU on a release image whose framework is a CPU build, when a CUDA build exists.

    The release's framework images come in pairs: ``jupyter-pytorch-full`` installs PyTorch's
    CPU wheels, its ``-cuda-`` sibling the CUDA ones (kubeflow/kubeflow v1.8.0 and v1.10.0
    components/example-notebook-servers/jupyter-pytorch/Dockerfile, "install - pytorch
    (cpu)", and jupyter-pytorch-cuda/Dockerfile; TensorFlow likewise). Images without a
    framework (jupyter-scipy, codeserver-python, rstudio-tidyverse) are left alone: the user
    installs one, with the GPU build.
    """
    if notebook.custom_image or vendor != "nvidia":
        return
    image = notebook_image(notebook, release)
    if image not in offered(release, notebook.kind) or cuda_image(image):
        return
    name = short_name(image)
    sibling = by_short_name(release, notebook.kind, cuda_sibling(name)) if cuda_sibling(name) != name else None
    if sibling is not None:
        yield Finding((*base, "image"), f"{short_name(image)} has its framework's CPU build; on the NVIDIA GPU "
                      "this server asks for, use the release's CUDA build of it", notebook.image,
                      short_name(sibling))


def _image_findings(base: tuple[Any, ...], notebook: NotebookSpec, release: str) -> Iterator[Finding]:
    if notebook.image is None:
        return
    images = offered(release, notebook.kind)
    if notebook.custom_image:
        problem = image_problem(notebook.image)
        if problem:
            yield Finding((*base, "image"), f"the team's image {problem}", notebook.image,
                          "an image pinned to a version tag or a @sha256 digest")
    elif is_short_name(notebook.image):
        if by_short_name(release, notebook.kind, notebook.image) is None:
            yield Finding((*base, "image"), f"not an image Kubeflow {release} offers for {notebook.kind} servers",
                          notebook.image, ", ".join(short_name(i) for i in images)
                          + " (or a full reference of one of them)")
    elif notebook.image not in images:
        other = next((name for name, kinds in NOTEBOOK_IMAGES.items() if name != release
                      and notebook.image in kinds[notebook.kind]), None)
        why = (f"it is Kubeflow {other}'s image; the stack runs {release}, whose images its short name "
               f"{short_name(notebook.image)} selects" if other is not None else
               f"not an image Kubeflow {release} offers for {notebook.kind} servers")
        yield Finding((*base, "image"), why, notebook.image, ", ".join(images) + "; its short name ("
                      + short_name(images[0]) + ", ...) to follow the release; or the team's own pinned image "
                      "with custom_image: true")


def workbench_namespaces(config: "StackConfig") -> tuple[str, ...]:
    """Profiles whose notebooks use the artifact store (its identity must exist there too)."""
    spec: WorkbenchesSpec | None = getattr(config, "workbenches", None)
    if spec is None:
        return ()
    return tuple(dict.fromkeys(n.profile for n in spec.notebooks if n.artifact_access))
