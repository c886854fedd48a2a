"""Rendering a Helm chart folder as ``helm.v4.Chart`` does, offline.

pulumi-kubernetes (``provider/pkg/provider/helm/v4/chart.go``, ``Construct``) runs
``helm template`` with ``DisableHooks = true`` (hooks are not registered at all),
``IncludeCRDs = !skipCrds`` (the chart's ``crds/`` files are registered as resources
by default), the release name = the ``name`` input or else the Pulumi resource name,
and the ``namespace`` input. The same is done here with Helm's own Go SDK
(``helm_python``), or with a ``helm`` binary where one is on PATH.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlplane.infra.offline.expand.documents import helm_objects
from mlplane.infra.offline.expand.errors import EngineMissing, ExpansionError

#: The annotation that makes a template a hook (Helm's ``release.HookAnnotation``).
HOOK_ANNOTATION = "helm.sh/hook"


class ChartRenderError(RuntimeError):
    """The chart itself failed to render (a broken source, not bad input)."""


def render_chart(folder: Path, *, resource: str, release: str, namespace: str,
                 values: Mapping[str, Any], include_crds: bool = True) -> list[dict[str, Any]]:
    """The objects ``helm.v4.Chart`` would register for this chart.

    Args:
        folder: The chart folder (Chart.yaml, templates/, crds/, charts/).
        resource: The chart's Pulumi name, for messages.
        release: The Helm release name.
        namespace: The release namespace.
        values: The values as the plan records them (secrets ``[secret]``).
        include_crds: Whether the ``crds/`` files are included (``!skipCrds``).

    Raises:
        ExpansionError: The chart's values schema rejects the values.
        ChartRenderError: A template fails to render.
    """
    if shutil.which("helm"):
        return _render_with_binary(folder, resource=resource, release=release, namespace=namespace,
                                   values=values, include_crds=include_crds)
    return _render_with_sdk(folder, resource=resource, release=release, namespace=namespace,
                            values=values, include_crds=include_crds)


def _render_with_sdk(folder: Path, *, resource: str, release: str, namespace: str,
                     values: Mapping[str, Any], include_crds: bool) -> list[dict[str, Any]]:
    try:
        import helm_python  # the engine's optional dependency (mlplane[expand]); only loaded to expand
    except ImportError:
        raise EngineMissing("Helm's Go SDK is not installed (pip install 'mlplane[expand]')") from None

    try:
        chart = helm_python.Chart.load(str(folder))
    except helm_python.HelmError as exc:
        raise ChartRenderError(f"{folder}: not a loadable chart ({exc})") from None
    with chart:
        try:
            chart.validate_schema(dict(values))
        except helm_python.HelmValuesError as exc:
            raise ExpansionError(resource, "values", _shown(values), f"the chart's values schema rejects them: {exc}",
                                 f"values that {folder.name}/values.schema.json accepts") from None
        try:
            rendered = chart.render(dict(values), name=release, namespace=namespace, is_install=True)
        except helm_python.HelmValuesError as exc:
            raise ExpansionError(resource, "values", _shown(values), f"the chart cannot read them: {exc}",
                                 "values of the types the chart's templates expect") from None
        except helm_python.HelmError as exc:
            raise ChartRenderError(f"{folder}: a template failed to render ({exc})") from None
        crds = chart.crds if include_crds else []
    found: list[dict[str, Any]] = []
    for crd in sorted(crds, key=lambda c: c.get("filename") or c.get("name") or ""):
        found.extend(helm_objects(crd["data"], f"{folder.name}/{crd.get('filename') or crd.get('name')}"))
    for path in sorted(rendered):
        # Helm's releaseutil.SortManifests: partials and NOTES.txt are no manifests.
        base = path.rsplit("/", 1)[-1]
        if base.startswith("_") or base.endswith("NOTES.txt"):
            continue
        found.extend(o for o in helm_objects(rendered[path], path) if not _is_hook(o))
    return found


def _render_with_binary(folder: Path, *, resource: str, release: str, namespace: str,
                        values: Mapping[str, Any], include_crds: bool) -> list[dict[str, Any]]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as stream:
        json.dump(values, stream)
        stream.flush()
        command = ["helm", "template", release, str(folder), "--namespace", namespace, "--no-hooks",
                   "--values", stream.name]
        if include_crds:
            command.append("--include-crds")
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        message = result.stderr.strip()
        if "values don't meet the specifications of the schema" in message:
            raise ExpansionError(resource, "values", _shown(values), f"the chart's values schema rejects them: "
                                 f"{message}", f"values that {folder.name}/values.schema.json accepts")
        raise ChartRenderError(f"{folder}: helm template failed ({message})")
    return helm_objects(result.stdout, f"helm template {folder.name}")


def _is_hook(obj: Mapping[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return isinstance(annotations, Mapping) and HOOK_ANNOTATION in annotations


def _shown(values: Mapping[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."
