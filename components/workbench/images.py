"""The notebook images each release train offers.

Pure data. The images are the ones Kubeflow's own spawner (the Jupyter web app) offers
for that release: ``spawnerFormDefaults.image`` (Jupyter), ``imageGroupOne`` (VS Code,
code-server) and ``imageGroupTwo`` (RStudio) of
``<apps|applications>/jupyter/jupyter-web-app/upstream/base/configs/spawner_ui_config.yaml``
in kubeflow/manifests at tag ``v1.8.1`` and ``26.03``. ``tests/test_workbenches.py``
proves both tables equal upstream. (Culling: :mod:`components.platform.notebook_culling`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

NotebookKind = Literal["jupyter", "vscode", "rstudio"]
NOTEBOOK_KINDS: tuple[str, ...] = ("jupyter", "vscode", "rstudio")

#: The spawner config's key for each kind's image group.
SPAWNER_GROUPS: Mapping[str, str] = MappingProxyType(
    {"jupyter": "image", "vscode": "imageGroupOne", "rstudio": "imageGroupTwo"})

_V18 = "kubeflownotebookswg"
_V110 = "ghcr.io/kubeflow/kubeflow/notebook-servers"

#: release -> kind -> images, the first being the spawner's default (``value``).
NOTEBOOK_IMAGES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "1.8.1": MappingProxyType({
        "jupyter": (f"{_V18}/jupyter-scipy:v1.8.0", f"{_V18}/jupyter-pytorch-full:v1.8.0",
                    f"{_V18}/jupyter-pytorch-cuda-full:v1.8.0", f"{_V18}/jupyter-tensorflow-full:v1.8.0",
                    f"{_V18}/jupyter-tensorflow-cuda-full:v1.8.0"),
        "vscode": (f"{_V18}/codeserver-python:v1.8.0",),
        "rstudio": (f"{_V18}/rstudio-tidyverse:v1.8.0",),
    }),
    "26.03": MappingProxyType({
        "jupyter": (f"{_V110}/jupyter-scipy:v1.10.0", f"{_V110}/jupyter-pytorch-full:v1.10.0",
                    f"{_V110}/jupyter-pytorch-cuda-full:v1.10.0", f"{_V110}/jupyter-pytorch-gaudi-full:v1.10.0",
                    f"{_V110}/jupyter-tensorflow-full:v1.10.0", f"{_V110}/jupyter-tensorflow-cuda-full:v1.10.0"),
        "vscode": (f"{_V110}/codeserver-python:v1.10.0",),
        "rstudio": (f"{_V110}/rstudio-tidyverse:v1.10.0",),
    }),
})

#: Where the spawner config lives in each release's kubeflow/manifests tree.
SPAWNER_CONFIG: Mapping[str, str] = MappingProxyType({
    "1.8.1": "v1.8.1/apps/jupyter/jupyter-web-app/upstream/base/configs/spawner_ui_config.yaml",
    "26.03": "26.03/applications/jupyter/jupyter-web-app/upstream/base/configs/spawner_ui_config.yaml",
})

def default_image(release: str, kind: str) -> str:
    """The image Kubeflow's spawner preselects for ``kind`` on ``release``."""
    return NOTEBOOK_IMAGES[release][kind][0]


def offered(release: str, kind: str) -> tuple[str, ...]:
    """The images Kubeflow's spawner offers for ``kind`` on ``release``."""
    return NOTEBOOK_IMAGES[release][kind]


def short_name(image: str) -> str:
    """A release image's name without registry and tag: ``jupyter-pytorch-cuda-full``."""
    return image.rsplit("/", 1)[-1].split(":", 1)[0]


def is_short_name(image: str) -> bool:
    """Whether ``image`` names a release image by its short name (no registry, tag or digest)."""
    return not any(mark in image for mark in "/:@")


def by_short_name(release: str, kind: str, name: str) -> str | None:
    """The release's image for ``kind`` called ``name`` (``jupyter-pytorch-cuda-full``), or None.

    Naming an image this way follows the release train: switching trains switches the image.
    """
    return next((image for image in offered(release, kind) if short_name(image) == name), None)


def cuda_sibling(name: str) -> str:
    """The short name of a framework image's CUDA build: ``jupyter-pytorch-full`` -> ``jupyter-pytorch-cuda-full``.

    (``jupyter-pytorch-gaudi-full`` -> ``jupyter-pytorch-cuda-full`` too; a name without a
    ``-full`` build has none and comes back unchanged.)
    """
    base = name.replace("-gaudi", "").replace("-cuda", "")
    return base[: -len("-full")] + "-cuda-full" if base.endswith("-full") else name


def cuda_image(image: str) -> bool:
    """Whether a release image is one of the CUDA builds (the ones that use NVIDIA GPUs)."""
    return "-cuda-" in image.rsplit("/", 1)[-1]
