"""A Helm post-renderer that orders a chart's webhook-gated objects after the webhook's server.

A chart that ships an admission webhook, its server and objects the webhook validates
(KServe's chart: its ClusterServingRuntimes and the ``clusterservingruntime`` validator)
fails its first install: pulumi-kubernetes orders a chart's children only by the
dependency graph of ``sigs.k8s.io/cli-utils`` (CRD, Namespace and the
``config.kubernetes.io/depends-on`` annotation: docs/ordering.md), so the objects are
created while the server is not ready, and the API server refuses them ("failed calling
webhook ... no endpoints available"), an error the provider does not retry.

``helm.v4.Chart`` runs a post-renderer over the rendered manifests before it registers
them (pulumi/pulumi-kubernetes v4.32.0 ``provider/pkg/provider/helm/v4/chart.go``:
``postrender.NewExec(command, args...)``; helm/helm v3.20.2 ``pkg/postrender/exec.go``
pipes the manifests through the command, found on ``PATH``). This one adds, to every
object a ``failurePolicy: Fail`` webhook of the same chart is called for on create, a
``config.kubernetes.io/depends-on`` reference to each workload behind that webhook's
Service (:mod:`components.admission`); the provider then registers the object with an
explicit dependency on the awaited workload. The offline expansion applies the same
:func:`annotate` to what it renders.

Usage (as Helm runs it): ``mlplane-depends-on --namespace NS < manifests > manifests``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from mlplane.components.admission import Facts, gated, servers

#: The console script (pyproject.toml ``[project.scripts]``) that helm.v4.Chart runs.
COMMAND = "mlplane-depends-on"
DEPENDS_ON = "config.kubernetes.io/depends-on"
#: Objects that ordering after a workload could only make cyclic (the workload needs them first).
_NEVER_GATED = ("Namespace", "CustomResourceDefinition")


def reference(body: dict[str, Any], namespace: str) -> str:
    """The cli-utils reference of an object: ``group/namespaces/ns/Kind/name`` (``group/Kind/name``
    without a namespace; cli-utils v0.37.2 ``pkg/object/dependson/strings.go``)."""
    group = str(body.get("apiVersion", "")).rpartition("/")[0]
    name = (body.get("metadata") or {}).get("name")
    if namespace:
        return f"{group}/namespaces/{namespace}/{body['kind']}/{name}"
    return f"{group}/{body['kind']}/{name}"


def annotate(objects: Sequence[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """``objects`` with each webhook-gated one depending on the webhook's server workloads.

    Args:
        objects: One chart's rendered objects (not changed; annotated copies are returned).
        namespace: The release namespace (what the provider gives objects that name none).

    Returns:
        The objects in the same order; only gated ones differ, by their annotation (existing
        references are kept, new ones appended once).
    """
    facts = Facts(objects, default_namespace=namespace)
    wanted: dict[int, list[str]] = {}
    for index, hook in gated(objects, facts):
        if objects[index].get("kind") in _NEVER_GATED:
            continue
        for server in servers(hook, objects, facts):
            if server != index:
                wanted.setdefault(index, []).append(reference(objects[server], facts.namespace_of(objects[server])))
    result = []
    for index, body in enumerate(objects):
        if index not in wanted:
            result.append(body)
            continue
        metadata = dict(body.get("metadata") or {})
        annotations = dict(metadata.get("annotations") or {})
        present = [r.strip() for r in str(annotations.get(DEPENDS_ON, "")).split(",") if r.strip()]
        for ref in wanted[index]:
            if ref not in present:
                present.append(ref)
        annotations[DEPENDS_ON] = ",".join(present)
        metadata["annotations"] = annotations
        result.append({**body, "metadata": metadata})
    return result


_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)


def post_render(text: str, namespace: str) -> str:
    """Helm's rendered manifests with the gated objects annotated; every other document is
    passed on as Helm wrote it (no YAML round trip can change its values)."""
    chunks = _SEPARATOR.split(text)
    parsed = [yaml.safe_load(chunk) for chunk in chunks]
    indexes = [i for i, body in enumerate(parsed) if isinstance(body, dict) and body]
    annotated = annotate([parsed[i] for i in indexes], namespace)
    out = list(chunks)
    for index, body in zip(indexes, annotated, strict=True):
        if body is not parsed[index]:
            out[index] = "\n" + yaml.safe_dump(body, sort_keys=False)
    return "---".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Read a YAML stream on stdin, write it annotated to stdout (Helm's post-renderer protocol)."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", default="default", help="the release namespace")
    args = parser.parse_args(argv)
    sys.stdout.write(post_render(sys.stdin.read(), args.namespace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
