"""``mlplane:kubeflow.sources``: mirrors and local copies of the upstream charts and directories.

The section's model is :class:`components.sources.SourcesSpec`. Folders are relative to
the stack file's folder; :func:`absolute_sources` makes them absolute for the components,
and the rule here checks, before anything is built, that a folder holds what the
release needs: each kustomize directory at its path (a checkout of kubeflow/manifests
at the release's tag) and each chart at its pinned version.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from mlplane.components.accelerators.spec import NFD_CHART, NVIDIA_DEVICE_PLUGIN_CHART, NVIDIA_GPU_OPERATOR_CHART
from mlplane.components.platform.resolve import resolve
from mlplane.components.platform.releases import ChartSource, ManifestsSource
from mlplane.components.sources import SourcesSpec, source_kind
from mlplane.infra.config.rules import Finding, rule

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

SECTION = "mlplane:kubeflow"

#: Charts outside the release trains that the sources can override too.
ACCELERATOR_CHARTS = (NVIDIA_DEVICE_PLUGIN_CHART, NVIDIA_GPU_OPERATOR_CHART, NFD_CHART)


def absolute_sources(config: "StackConfig") -> SourcesSpec:
    """The stack's sources with folders resolved against the stack file's folder."""
    assert config.kubeflow is not None
    sources = config.kubeflow.sources

    def absolute(value: str) -> str:
        # Lexically absolute (``..`` folded), symlinks kept: a vendored link stays inside the
        # project, so the plan records it relative to the project (infra/offline/portable.py).
        return os.path.abspath(config.source.resolve(value)) if source_kind(value) == "folder" else value

    return SourcesSpec(
        manifests=absolute(sources.manifests) if sources.manifests else None,
        charts={name: absolute(value) for name, value in sources.charts.items()},
    )


def _chart_metadata(folder: Path) -> tuple[str, str] | None:
    try:
        chart = yaml.safe_load((folder / "Chart.yaml").read_text())
        return str(chart["name"]).strip(), str(chart["version"]).strip()
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


@rule
def source_folders_hold_the_release(config: "StackConfig") -> Iterator[Finding]:
    """A folder given as a source holds every directory and chart the release installs from it."""
    if config.kubeflow is None:
        return
    given = config.kubeflow.sources
    sources = absolute_sources(config)
    components = resolve(config.kubeflow)
    if sources.manifests and source_kind(sources.manifests) == "folder":
        root = Path(sources.manifests)
        path = (SECTION, "sources", "manifests")
        if not root.is_dir():
            yield Finding(path, f"folder {root} does not exist", given.manifests,
                          "a git URL of a kubeflow/manifests mirror, or a folder holding a checkout of the release's tag")
        else:
            for component in components.values():
                for source in component.sources if component.enabled else ():
                    if isinstance(source, ManifestsSource) and not (root / source.path / "kustomization.yaml").is_file():
                        yield Finding(path, f"{source.path} (of {component.key}) is not a kustomization in {root}",
                                      given.manifests, f"a checkout of kubeflow/manifests at tag {source.version}")
    known = sorted({s.chart for c in components.values() for s in c.sources if isinstance(s, ChartSource)}
                   | {c.ref.name for c in ACCELERATOR_CHARTS})
    for name in given.charts:
        if name not in known:
            yield Finding((SECTION, "sources", "charts", name), f"no chart called {name} is installed by mlplane",
                          name, ", ".join(known))
    for name, folder_text in sources.charts.items():
        if source_kind(folder_text) != "folder" or name not in known:
            continue
        path = (SECTION, "sources", "charts", name)
        pinned = [s for c in components.values() if c.enabled for s in c.sources
                  if isinstance(s, ChartSource) and s.chart == name]
        metadata = _chart_metadata(Path(folder_text))
        if metadata is None:
            yield Finding(path, f"folder {folder_text} holds no chart (no readable Chart.yaml)", given.charts[name],
                          "a folder holding the unpacked chart (Chart.yaml, values.yaml, templates/)")
            continue
        for source in pinned:
            if metadata != (source.chart, source.version):
                yield Finding(path, f"folder {folder_text} holds chart {metadata[0]} {metadata[1]}",
                              given.charts[name], f"chart {source.chart} at version {source.version}")
