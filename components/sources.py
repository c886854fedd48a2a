"""Where every upstream Helm chart and kustomize directory comes from.

One place answers "what does the engine fetch?" for both the real ``pulumi up`` and the
offline render: :func:`manifests_location` gives the ``directory`` of a
``kustomize.v2.Directory``, :func:`chart_location` the ``chart``, ``version`` and
repository of a ``helm.v4.Chart``. A stack can point them at an internal mirror or a local
checkout (``mlplane:kubeflow.sources``, :class:`SourcesSpec`) for air-gapped clusters;
:func:`upstream_layout_path` maps a recorded Chart or Directory back to the folder that
holds its files in a sources folder laid out like ``../shared/upstream``.

Upstream facts used here:
  * kustomize reads a remote directory as ``<repo>//<path>?ref=<ref>`` (double slash before
    the path, the git ref as a query); a ``/tree/<ref>/<path>`` browser URL is not a form it
    understands (kubernetes-sigs/kustomize ``api/internal/git/repospec.go``, the URL forms
    of ``examples/remoteBuild.md``; ``../shared/upstream/README.md``).
  * Helm ignores the version of a chart given as a full URL ("For fully qualified URLs, the
    version will be ignored", helm/helm ``pkg/downloader/chart_downloader.go``,
    ``ResolveChartVersion``), so a release-asset chart is pinned by its URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import AfterValidator, Field

from mlplane.components.base import ArgsModel

#: Pulumi type tokens of the two upstream installers.
CHART_TYPE = "kubernetes:helm.sh/v4:Chart"
DIRECTORY_TYPE = "kubernetes:kustomize/v2:Directory"

#: kubeflow/manifests upstream (git tags ``v1.8.1``, ``26.03``: kubeflow/manifests README).
MANIFESTS_REPOSITORY = "https://github.com/kubeflow/manifests"

#: Sub-folders of a sources folder (the layout of ``../shared/upstream``).
MANIFESTS_FOLDER = "kubeflow-manifests"
CHARTS_FOLDER = "charts"

_URL = re.compile(r"^(https|http|ssh|git|oci)://[^\s/]+(/[^\s]*)?$")
#: git's scp-like form, user@host:path (git-clone(1), GIT URLS), which kustomize accepts too.
_SCP_URL = re.compile(r"^[\w.-]+@[\w.-]+:[^\s]+$")
_CHART_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


def source_kind(value: str) -> Literal["url", "oci", "folder"]:
    """What a source override is: a URL (http, https, ssh, git), an OCI registry or a folder.

    Raises:
        ValueError: Neither a URL nor a folder path (empty, whitespace, another scheme).
    """
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ValueError("must be a URL (https://..., oci://...) or a folder path")
    if _SCP_URL.match(value):
        return "url"
    if "://" in value:
        if not _URL.match(value):
            raise ValueError("must be a URL with scheme https, http, ssh, git or oci and a host, "
                             "or a folder path")
        return "oci" if value.startswith("oci://") else "url"
    if any(ch in value for ch in "?#*") or "\n" in value:
        raise ValueError("must be a URL (https://..., oci://...) or a folder path")
    return "folder"


def _check_manifests(value: str) -> str:
    if source_kind(value) == "oci":
        raise ValueError("must be a git repository URL (https://, ssh://, git://) or a folder; "
                         "kubeflow/manifests is not published to OCI registries")
    return value


def _check_chart_name(value: str) -> str:
    if not _CHART_NAME.match(value):
        raise ValueError("must be a chart name like cert-manager or kserve-crd")
    return value


def _check_chart_source(value: str) -> str:
    source_kind(value)
    return value


ManifestsOverride = Annotated[str, AfterValidator(_check_manifests)]
ChartName = Annotated[str, AfterValidator(_check_chart_name)]
ChartOverride = Annotated[str, AfterValidator(_check_chart_source)]


class SourcesSpec(ArgsModel):
    """Where upstream charts and kubeflow/manifests directories are fetched from.

    Leave it empty to use the upstream locations. Folders are relative to the stack
    file's folder.
    """

    manifests: ManifestsOverride | None = Field(
        None,
        description="kubeflow/manifests mirror: a git repository URL read at the release's tag "
                    "(https://git.example.com/mirrors/manifests), or a folder holding a checkout of that tag.",
    )
    charts: dict[ChartName, ChartOverride] = Field(
        default_factory=dict,
        description="Per chart name (cert-manager, istiod, kserve, ...): a Helm repository URL, an OCI registry "
                    "(oci://registry.example.com/charts) or a folder holding the unpacked chart of the pinned version.",
    )


@dataclass(frozen=True)
class ChartRef:
    """An upstream Helm chart, pinned.

    Attributes:
        name: The chart's name (``name`` in its Chart.yaml).
        version: The exact chart version.
        repository: Helm repository URL or ``oci://`` registry (the chart's parent).
        url: A full URL of the packaged chart, for charts published only as release assets.
    """

    name: str
    version: str
    repository: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ChartLocation:
    """What ``helm.v4.Chart`` is given: ``chart``, ``version`` and the repository option."""

    chart: str
    version: str
    repository: str | None = None


def manifests_location(path: str, ref: str, override: str | None = None) -> str:
    """The ``directory`` of a ``kustomize.v2.Directory`` for ``path`` at git ``ref``.

    Args:
        path: Directory inside kubeflow/manifests (``applications/katib/upstream/...``).
        ref: The release's git tag (``v1.8.1``, ``26.03``).
        override: The stack's mirror (a git URL) or checkout (a folder, made absolute by
            the config layer), ``SourcesSpec.manifests``.

    Returns:
        ``<repository>//<path>?ref=<ref>``, or ``<folder>/<path>`` for a local checkout.
    """
    if override is not None and source_kind(override) == "folder":
        return str(PurePosixPath(override) / path)
    repository = (override or MANIFESTS_REPOSITORY).rstrip("/")
    return f"{repository}//{path}?ref={ref}"


def chart_location(chart: ChartRef, override: str | None = None) -> ChartLocation:
    """What ``helm.v4.Chart`` fetches for ``chart``, after the stack's override.

    Args:
        chart: The pinned chart.
        override: ``SourcesSpec.charts[chart.name]``: a Helm repository URL (keeps the
            chart name), an OCI registry (``oci://<registry>/<name>``) or a folder holding
            the unpacked chart (made absolute by the config layer).
    """
    if override is not None:
        kind = source_kind(override)
        if kind == "folder":
            return ChartLocation(chart=override, version=chart.version)
        if kind == "oci":
            return ChartLocation(chart=f"{override.rstrip('/')}/{chart.name}", version=chart.version)
        return ChartLocation(chart=chart.name, version=chart.version, repository=override)
    if chart.url is not None:
        return ChartLocation(chart=chart.url, version=chart.version)
    if chart.repository is not None and chart.repository.startswith("oci://"):
        return ChartLocation(chart=f"{chart.repository.rstrip('/')}/{chart.name}", version=chart.version)
    return ChartLocation(chart=chart.name, version=chart.version, repository=chart.repository)


#: Where the program writes the local kustomization that wraps each directory it installs
#: (components/ordered_directory.py), relative to the program's working directory.
WRAPPERS_FOLDER = ".mlplane/kustomize"
#: The longest file name part of a wrapper's path (Linux's NAME_MAX is 255 bytes).
_PART = 200


def wrapper_path(location: str, namespace: str) -> str:
    """The ``directory`` of the local kustomization that wraps ``location`` for ``namespace``.

    ``<WRAPPERS_FOLDER>/<namespace>/<location, percent-encoded>``, the encoding cut into
    parts of at most 200 characters: deterministic and machine-independent (relative), and
    :func:`wrapped_location` reads the location back from the path alone.
    """
    encoded = quote(location, safe="")
    parts = [encoded[i:i + _PART] for i in range(0, len(encoded), _PART)] or [""]
    return str(PurePosixPath(WRAPPERS_FOLDER, namespace, *parts))


def wrapped_location(directory: str) -> tuple[str, str] | None:
    """``(location, namespace)`` that a :func:`wrapper_path` wraps; None for any other directory."""
    prefix = WRAPPERS_FOLDER + "/"
    if not directory.startswith(prefix):
        return None
    namespace, _, encoded = directory[len(prefix):].partition("/")
    return (unquote(encoded.replace("/", "")), namespace) if encoded else None


def directory_location(directory: str) -> str:
    """The upstream location a recorded ``directory`` installs (the wrapped one for a wrapper)."""
    wrapped = wrapped_location(directory)
    return wrapped[0] if wrapped else directory


def upstream_layout_path(resource_type: str, inputs: Mapping[str, Any]) -> str | None:
    """Where a recorded Chart or Directory's files are in a sources folder.

    Args:
        resource_type: The recorded Pulumi type (:data:`CHART_TYPE` or :data:`DIRECTORY_TYPE`).
        inputs: Its recorded inputs (``chart``/``version`` or ``directory``).

    Returns:
        A path relative to a sources folder laid out like ``../shared/upstream``
        (``kubeflow-manifests/<ref>/<path>``, ``charts/<name>-<version>``), an absolute
        folder when the stack points at a local checkout, or None for anything else.
    """
    if resource_type == DIRECTORY_TYPE:
        directory = directory_location(str(inputs.get("directory") or ""))
        if "://" not in directory:
            return directory or None
        split = urlsplit(directory)
        if "//" not in split.path or not split.query.startswith("ref="):
            return None
        path = split.path.split("//", 1)[1].strip("/")
        ref = split.query.split("&")[0].removeprefix("ref=")
        return f"{MANIFESTS_FOLDER}/{ref}/{path}" if path and ref else None
    if resource_type == CHART_TYPE:
        chart = str(inputs.get("chart") or "")
        version = str(inputs.get("version") or "")
        if not chart:
            return None
        if "://" not in chart and (chart.startswith("/") or chart.startswith(".")):
            return chart
        name = chart_name_of(chart, version)
        return f"{CHARTS_FOLDER}/{name}-{version}" if name and version else None
    return None


def chart_name_of(chart: str, version: str) -> str | None:
    """The chart name inside a ``chart`` reference: a name, ``oci://.../<name>`` or a release-asset URL.

    Release assets are named as KServe's release workflow packs them:
    ``helm-chart-<name>-<version>.tgz`` (kserve/kserve ``.github/workflows/helm-publish.yml``:
    ``helm package`` then ``mv $f helm-chart-$f``).
    """
    last = chart.rstrip("/").rsplit("/", 1)[-1]
    if last.endswith(".tgz"):
        stem = last.removesuffix(".tgz").removeprefix("helm-chart-")
        suffix = f"-{version}"
        return stem.removesuffix(suffix) if stem.endswith(suffix) else None
    return last or None
