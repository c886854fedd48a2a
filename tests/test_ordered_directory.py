"""A kustomize directory's webhook-gated objects wait for the webhook's server (components/ordered_directory.py).

Judged by the real kustomize (``kubectl kustomize``, kustomize v5, whose legacy exec plugin
loader is the one pulumi-kubernetes' kustomize api v0.21.1 runs) building mlplane's wrapping
kustomization over 26.03's Trainer and Knative directories from ../shared/upstream, with
external plugins allowed as the provider allows them (``EnabledPluginConfig``) and loads
unrestricted (``LoadRestrictionsNone``); and by unit cases of what is never ordered (a
server's own needs, a cycle).
"""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.resource import DependencyResource

from mlplane.components.depends_on import DEPENDS_ON, annotate
from mlplane.components.ordered_directory import (
    KUSTOMIZATION, PLUGIN_CHECK, PLUGIN_INSTALL, install_plugin, ordered_directory, plugin_home, plugin_path)
from mlplane.components.sources import directory_location, wrapped_location, wrapper_path
from mlplane.infra.offline.expand import kustomize
from mlplane.infra.offline.expand.children import child_resources
from mlplane.infra.offline.kinds import crd_scopes
from mlplane.infra.offline.plan import PlanResource

from .expansion import sources_folder

MANIFESTS = "kubeflow-manifests/26.03"
TRAINER = "applications/trainer/upstream/overlays/kubeflow-platform"
KNATIVE = "common/knative/knative-serving/overlays/gateways"


def _build(folder: Path, env: dict[str, str], plugins: bool) -> list[dict[str, Any]]:
    binary = kustomize.kubectl()
    assert binary is not None
    flags = ["--enable-alpha-plugins"] if plugins else []
    done = subprocess.run([binary, "kustomize", *flags, "--load-restrictor", "LoadRestrictionsNone", str(folder)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return [o for o in yaml.safe_load_all(done.stdout) if o]


def _annotated(objects: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(o["kind"], o["metadata"]["name"]): o["metadata"]["annotations"][DEPENDS_ON]
            for o in objects if DEPENDS_ON in ((o.get("metadata") or {}).get("annotations") or {})}


def _without(objects: list[dict[str, Any]], annotation: str) -> list[dict[str, Any]]:
    found = []
    for body in copy.deepcopy(objects):
        annotations = body.get("metadata", {}).get("annotations") or {}
        annotations.pop(annotation, None)
        if "annotations" in body.get("metadata", {}) and not annotations:
            del body["metadata"]["annotations"]
        found.append(body)
    return found


@pytest.mark.parametrize(("path", "namespace", "gated", "server"), [
    # Trainer's 6 ClusterTrainingRuntimes (validator.clustertrainingruntime.trainer.kubeflow.org)
    (TRAINER, "kubeflow", ("trainer.kubeflow.org", "ClusterTrainingRuntime", 6),
     "apps/namespaces/kubeflow/Deployment/kubeflow-trainer-controller-manager"),
    # Knative's routing-serving-certs (webhook.serving.knative.dev, validation.webhook.serving.knative.dev)
    (KNATIVE, "knative-serving", ("networking.internal.knative.dev", "Certificate", 1),
     "apps/namespaces/knative-serving/Deployment/webhook"),
])
def test_kustomize_runs_the_plugin_through_the_wrapper(path: str, namespace: str, gated: tuple[str, str, int],
                                                       server: str, tmp_path: Path) -> None:
    env = {**os.environ, "KUSTOMIZE_PLUGIN_HOME": str(tmp_path / "plugins")}
    (tmp_path / "plugins").mkdir()
    launcher = install_plugin(env)
    assert launcher == tmp_path / "plugins" / "mlplane.dev" / "v1" / "dependson" / "DependsOn"
    with kustomize.local_tree(sources_folder() / MANIFESTS / path, [sources_folder()]) as local:
        direct = _build(local, env, plugins=False)
        relative = ordered_directory(str(local), namespace, tmp_path)
        wrapped = _build(tmp_path / relative, env, plugins=True)
    group, kind, count = gated
    objects = {(o["kind"], o["metadata"]["name"]) for o in direct
               if o["kind"] == kind and o["apiVersion"].startswith(f"{group}/")}
    assert len(objects) == count
    expected = dict.fromkeys(objects, server)
    assert _annotated(wrapped) == expected
    # The wrapper changes nothing else: the same objects, in the same order, as the directory alone.
    assert _without(wrapped, DEPENDS_ON) == direct
    # And it is what the offline expansion records: the same function, in process.
    assert _annotated(annotate(direct, namespace)) == expected


def test_the_wrapper_names_its_location_in_its_path(tmp_path: Path) -> None:
    url = f"https://github.com/kubeflow/manifests//{TRAINER}?ref=26.03"
    relative = ordered_directory(url, "kubeflow", tmp_path)
    assert relative == wrapper_path(url, "kubeflow") and not Path(relative).is_absolute()
    assert wrapped_location(relative) == (url, "kubeflow") and directory_location(relative) == url
    assert directory_location(url) == url and wrapped_location(url) is None
    kustomization = yaml.safe_load((tmp_path / relative / KUSTOMIZATION).read_text())
    assert kustomization["resources"] == [url]
    # A folder is named relative to the wrapper (kustomize refuses an absolute one as a resource).
    folder = tmp_path / "checkout" / TRAINER
    folder.mkdir(parents=True)
    relative = ordered_directory(str(folder), "kubeflow", tmp_path)
    resource = yaml.safe_load((tmp_path / relative / KUSTOMIZATION).read_text())["resources"][0]
    assert not os.path.isabs(resource) and (tmp_path / relative / resource).resolve() == folder.resolve()
    # File names stay below NAME_MAX whatever the location's length.
    long = "/" + "a" * 600
    assert all(len(part) <= 255 for part in wrapper_path(long, "ns").split("/"))
    assert wrapped_location(wrapper_path(long, "ns")) == (long, "ns")


def test_the_plugin_home_is_the_one_kustomize_picks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"HOME": str(home)}
    assert plugin_home(env) == home / ".config" / "kustomize" / "plugin"  # none exists: where install creates it
    (home / "kustomize" / "plugin").mkdir(parents=True)
    assert plugin_home(env) == home / "kustomize" / "plugin"
    (tmp_path / "xdg" / "kustomize" / "plugin").mkdir(parents=True)
    assert plugin_home({**env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg" / "kustomize" / "plugin"
    assert plugin_home({**env, "KUSTOMIZE_PLUGIN_HOME": str(tmp_path / "k")}) == home / "kustomize" / "plugin"
    (tmp_path / "k").mkdir()
    assert plugin_path({**env, "KUSTOMIZE_PLUGIN_HOME": str(tmp_path / "k")}) == \
        tmp_path / "k" / "mlplane.dev" / "v1" / "dependson" / "DependsOn"


# A webhook that gates every object of its own namespace: the server's needs must not wait for it.
EVERYTHING = {"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE"], "resources": ["*"]}


def _hook(name: str, server: str, **hook: Any) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name}, "webhooks": [{"name": f"{name}.example.com", "rules": [EVERYTHING],
                                                      "clientConfig": {"service": {"namespace": "sys",
                                                                                   "name": server}}, **hook}]}


def _server(name: str, labels: dict[str, str] | None = None, **pod: Any) -> list[dict[str, Any]]:
    return [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "sys"},
             "spec": {"selector": {"app": name}}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": name, "namespace": "sys", "labels": labels or {}},
             "spec": {"selector": {"matchLabels": {"app": name}},
                      "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}}]


def _object(api_version: str, kind: str, name: str, **body: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "sys"}, **body}


def _children(objects: list[dict[str, Any]]) -> list[PlanResource]:
    directory = PlanResource(urn="urn:pulumi:t::mlplane::kubernetes:kustomize/v2:Directory::d",
                             type="kubernetes:kustomize/v2:Directory", name="d", custom=False, parent=None,
                             provider=None, dependencies=(), inputs={"namespace": "sys"})
    return child_resources(directory, objects, stack="t", project="mlplane", scopes=crd_scopes(objects))


def test_what_the_server_needs_to_start_is_never_ordered_after_it() -> None:
    pod = {"serviceAccountName": "hook",
           "volumes": [{"name": "certs", "secret": {"secretName": "hook-certs"}},
                       {"name": "p", "projected": {"sources": [{"configMap": {"name": "projected"}}]}}],
           "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "settings"}}],
                           "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "token", "key": "t"}}}]}]}
    needs = [_object("v1", "ServiceAccount", "hook"), _object("v1", "Secret", "hook-certs"),
             _object("v1", "ConfigMap", "projected"), _object("v1", "ConfigMap", "settings"),
             _object("v1", "Secret", "token"),
             _object("cert-manager.io/v1", "Certificate", "hook-cert", spec={"secretName": "hook-certs"})]
    others = [_object("v1", "ConfigMap", "unrelated"), _object("cert-manager.io/v1", "Certificate", "other",
                                                               spec={"secretName": "other"})]
    objects = [_hook("v", "hook"), *_server("hook", **pod), *needs, *others]
    result = annotate(copy.deepcopy(objects), "sys")
    annotated = {name for (_, name) in _annotated(result)}
    # Its Service and unrelated objects wait; what its pods need, and the server itself, do not.
    assert annotated == {"hook", "unrelated", "other"}
    assert _annotated(result)[("Service", "hook")] == "apps/namespaces/sys/Deployment/hook"
    assert ("Deployment", "hook") not in _annotated(result)
    _children(result)  # the provider's graph accepts it (no cycle)


def test_two_webhooks_serving_each_other_order_one_way_only() -> None:
    # one's server is gated by two and two's by one: ordering both would be a cycle, which the
    # provider refuses for the whole directory; the first edge (in the objects' order) is kept,
    # the closing one left out.
    objects = [_hook("one", "one", objectSelector={"matchLabels": {"gate": "one"}}),
               _hook("two", "two", objectSelector={"matchLabels": {"gate": "two"}}),
               *_server("one", labels={"gate": "two"}), *_server("two", labels={"gate": "one"})]
    result = annotate(copy.deepcopy(objects), "sys")
    assert _annotated(result) == {("Deployment", "one"): "apps/namespaces/sys/Deployment/two"}
    _children(result)


def test_an_upstream_ordering_that_would_close_a_cycle_is_kept_and_ours_left_out() -> None:
    objects = [_hook("v", "hook"), *_server("hook"), _object("v1", "ConfigMap", "c")]
    objects[2]["metadata"]["annotations"] = {DEPENDS_ON: "/namespaces/sys/ConfigMap/c"}  # the server waits for c
    result = annotate(copy.deepcopy(objects), "sys")
    assert ("ConfigMap", "c") not in _annotated(result)
    _children(result)


def test_a_transforms_depends_on_orders_no_directory_child() -> None:
    """What the engine does with a dependency a parent's transform returns for a child the
    provider registers: nothing (pulumi/pulumi v3.243.0 ``pkg/resource/deploy/source_eval.go``,
    ``RegisterResource``, rereads ``DependsOn`` from the transformed options only when the
    request carries transforms of its own, and the provider's children carry none). The
    offline expansion, running the same registered function, records no such dependency."""
    objects = [_hook("v", "hook"), *_server("hook"), _object("v1", "ConfigMap", "c")]
    server = next(c for c in _children(objects) if c.type == "kubernetes:apps/v1:Deployment")

    # A DependencyResource's URN is a future: it needs an event loop of its own here (another
    # test may have closed the thread's).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        dependency = DependencyResource(server.urn)
    finally:
        asyncio.set_event_loop(None)
        loop.close()

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult:
        return pulumi.ResourceTransformResult(props=args.props, opts=pulumi.ResourceOptions.merge(
            args.opts, pulumi.ResourceOptions(depends_on=[dependency])))

    directory = PlanResource(urn="urn:pulumi:t::mlplane::kubernetes:kustomize/v2:Directory::d",
                             type="kubernetes:kustomize/v2:Directory", name="d", custom=False, parent=None,
                             provider=None, dependencies=(), inputs={"namespace": "sys"})
    children = child_resources(directory, objects, stack="t", project="mlplane", scopes=crd_scopes(objects),
                               transforms=[transform])
    config_map = next(c for c in children if c.type == "kubernetes:core/v1:ConfigMap")
    assert config_map.dependencies == ()


def test_the_prerequisite_check_fails_until_the_plugin_is_installed(tmp_path: Path) -> None:
    (tmp_path / "plugins").mkdir()
    env = {**os.environ, "KUSTOMIZE_PLUGIN_HOME": str(tmp_path / "plugins"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def check() -> int:
        return subprocess.run(["sh", "-c", PLUGIN_CHECK], env=env, check=False).returncode

    assert check() != 0
    assert subprocess.run(["sh", "-c", PLUGIN_INSTALL], env=env, capture_output=True, check=True).returncode == 0
    assert check() == 0
