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

A ``kustomize.v2.Directory`` has no post-renderer, and a resource transform cannot order its
children (docs/ordering.md, "A kustomize directory's webhook-gated objects"), so the same
command is also a kustomize exec transformer plugin: the provider builds with
``PluginRestrictionsNone`` (pulumi/pulumi-kubernetes v4.32.0
``provider/pkg/provider/kustomize/v2/directory.go``, ``makeKustomizer``:
``ktypes.EnabledPluginConfig``), so a ``transformers:`` entry of kind :data:`PLUGIN_KIND`
runs the executable at ``<plugin home>/mlplane.dev/v1/dependson/DependsOn``
(kubernetes-sigs/kustomize api/v0.21.1 ``api/internal/plugins/loader/loader.go``,
``AbsolutePluginPath``) with the plugin's configuration file as first argument and the
resources on stdin, and takes the resources it prints
(``api/internal/plugins/execplugin/execplugin.go``, ``Transform``).
:mod:`components.ordered_directory` writes the kustomization that lists it.

Usage (as Helm runs it): ``mlplane-depends-on --namespace NS < manifests > manifests``;
as kustomize runs it: ``DependsOn CONFIG < resources > resources`` (the namespace is the
configuration's ``namespace``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from mlplane.components.admission import Facts, gated, servers

#: The console script (pyproject.toml ``[project.scripts]``) that helm.v4.Chart runs.
COMMAND = "mlplane-depends-on"
DEPENDS_ON = "config.kubernetes.io/depends-on"
#: The kustomize transformer configuration that runs this command (kustomize's exec plugin
#: protocol; the plugin's path under the plugin home is ``<group>/<version>/<lowercase kind>/<Kind>``).
PLUGIN_API_VERSION = "mlplane.dev/v1"
PLUGIN_KIND = "DependsOn"
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

    Two kinds of gated object are left as they are, because ordering them after the server
    could never finish: one the server's pods need before they can become ready (what
    :func:`needed_by` names: ordering it later would leave the awaited server unready for
    good), and one that would close a cycle with the orderings already there (the provider
    fails the whole component on a cycle: cli-utils v0.37.2 ``pkg/object/graph/graph.go``,
    ``Sort``). The API server still refuses such an object while the server is down; the
    offline check (:mod:`infra.offline.webhooks`) reports it.

    Args:
        objects: One chart's or directory's objects (not changed; annotated copies are returned).
        namespace: The release namespace (what the provider gives objects that name none).

    Returns:
        The objects in the same order; only gated ones differ, by their annotation (existing
        references are kept, new ones appended once).
    """
    facts = Facts(objects, default_namespace=namespace)
    keys = {_key(body, facts): index for index, body in enumerate(objects)}
    edges = {index: _existing_edges(body, keys) for index, body in enumerate(objects)}
    wanted: dict[int, list[str]] = {}
    needs: dict[int, set[int]] = {}
    for index, hook in gated(objects, facts):
        if objects[index].get("kind") in _NEVER_GATED:
            continue
        for server in servers(hook, objects, facts):
            if server not in needs:
                needs[server] = needed_by(server, objects, facts)
            if server == index or index in needs[server] or _reaches(edges, server, index):
                continue
            edges[index].add(server)
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


def _key(body: dict[str, Any], facts: Facts) -> tuple[str, str, str, str]:
    metadata = body.get("metadata") or {}
    return (str(body.get("apiVersion", "")).rpartition("/")[0], str(body.get("kind", "")),
            facts.namespace_of(body), str(metadata.get("name", "")))


def _existing_edges(body: dict[str, Any], keys: dict[tuple[str, str, str, str], int]) -> set[int]:
    """The objects ``body``'s own depends-on annotation names (those among the objects)."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    found = set()
    for ref in str(annotations.get(DEPENDS_ON, "")).split(","):
        parts = ref.strip().split("/")
        key = (parts[0], parts[3], parts[2], parts[4]) if len(parts) == 5 else \
            (parts[0], parts[1], "", parts[2]) if len(parts) == 3 else None
        if key in keys:
            found.add(keys[key])
    return found


def _reaches(edges: dict[int, set[int]], start: int, goal: int) -> bool:
    """Whether ``start`` already waits for ``goal`` through ``edges`` (adding goal -> start would cycle)."""
    seen, pending = {start}, [start]
    while pending:
        for step in edges[pending.pop()]:
            if step == goal:
                return True
            if step not in seen:
                seen.add(step)
                pending.append(step)
    return False


def needed_by(server: int, objects: Sequence[dict[str, Any]], facts: Facts) -> set[int]:
    """Indexes of the objects a server workload's pods need to start: its ServiceAccount, the
    ConfigMaps and Secrets its pod template mounts or reads (volumes, projected sources,
    ``env``/``envFrom``), and each cert-manager Certificate whose ``spec.secretName`` is one
    of those Secrets (the Secret "that will be automatically created and managed by this
    Certificate": the ``cert-manager.io/v1`` Certificate CRD's schema, ../shared/crds)."""
    namespace = facts.namespace_of(objects[server])
    pod = ((objects[server].get("spec") or {}).get("template") or {}).get("spec") or {}
    wanted: set[tuple[str, str]] = {("ServiceAccount", str(pod.get("serviceAccountName") or "default"))}

    def sources(volume: dict[str, Any]) -> None:
        if (volume.get("secret") or {}).get("secretName"):
            wanted.add(("Secret", str(volume["secret"]["secretName"])))
        if (volume.get("configMap") or {}).get("name"):
            wanted.add(("ConfigMap", str(volume["configMap"]["name"])))

    for volume in pod.get("volumes") or ():
        sources(volume)
        for projected in (volume.get("projected") or {}).get("sources") or ():
            sources({"secret": {"secretName": (projected.get("secret") or {}).get("name")},
                     "configMap": projected.get("configMap") or {}})
    for container in [*(pod.get("initContainers") or ()), *(pod.get("containers") or ())]:
        for env in container.get("env") or ():
            source = env.get("valueFrom") or {}
            for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                if (source.get(field) or {}).get("name"):
                    wanted.add((kind, str(source[field]["name"])))
        for env in container.get("envFrom") or ():
            for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                if (env.get(field) or {}).get("name"):
                    wanted.add((kind, str(env[field]["name"])))
    secrets = {name for kind, name in wanted if kind == "Secret"}
    found = set()
    for index, body in enumerate(objects):
        if facts.namespace_of(body) != namespace:
            continue
        name = str((body.get("metadata") or {}).get("name", ""))
        if body.get("apiVersion") == "v1" and (str(body.get("kind")), name) in wanted:
            found.add(index)
        elif body.get("kind") == "Certificate" and str(body.get("apiVersion", "")).startswith("cert-manager.io/") \
                and (body.get("spec") or {}).get("secretName") in secrets:
            found.add(index)
    return found


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
    parser.add_argument("config", nargs="?", type=Path,
                        help=f"a kustomize {PLUGIN_KIND} transformer configuration (as kustomize runs the plugin)")
    parser.add_argument("--namespace", default="default", help="the release namespace")
    parser.add_argument("--install-kustomize-plugin", action="store_true",
                        help="put the command where kustomize finds it as a transformer plugin, print that path")
    parser.add_argument("--kustomize-plugin-path", action="store_true",
                        help="print where kustomize looks for the plugin")
    args = parser.parse_args(argv)
    if args.install_kustomize_plugin or args.kustomize_plugin_path:
        from mlplane.components import ordered_directory  # it imports this module

        path = ordered_directory.install_plugin() if args.install_kustomize_plugin else ordered_directory.plugin_path()
        print(path)
        return 0
    namespace = args.namespace
    if args.config is not None:
        config = yaml.safe_load(args.config.read_text()) or {}
        if config.get("apiVersion") != PLUGIN_API_VERSION or config.get("kind") != PLUGIN_KIND:
            parser.error(f"{args.config}: not a {PLUGIN_API_VERSION} {PLUGIN_KIND} configuration")
        namespace = str(config.get("namespace") or namespace)
    sys.stdout.write(post_render(sys.stdin.read(), namespace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
