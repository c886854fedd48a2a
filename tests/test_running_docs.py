"""The "run it for real" guide: its cluster configs parse and map the gateway's ports; docs links resolve.

kind's and k3d's config formats are checked field by field against their sources:
kind's v1alpha4 ``Cluster``/``Node``/``PortMapping`` YAML fields (kubernetes-sigs/kind,
pkg/apis/config/v1alpha4/types.go) and k3d's SimpleConfig schema (k3d-io/k3d,
pkg/config/v1alpha5/schema.json).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mlplane.infra.config.accelerators import CLOUD_SDKS, sdk_install_command

from .conftest import ROOT, load_stack

KIND_CLUSTER_FIELDS = {"kind", "apiVersion", "name", "nodes", "networking", "featureGates", "runtimeConfig",
                       "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902", "containerdConfigPatches",
                       "containerdConfigPatchesJSON6902"}
KIND_NODE_FIELDS = {"role", "image", "labels", "extraMounts", "extraPortMappings", "gpus", "kubeadmConfigPatches",
                    "kubeadmConfigPatchesJSON6902"}
KIND_PORT_FIELDS = {"containerPort", "hostPort", "listenAddress", "protocol"}
K3D_FIELDS = {"apiVersion", "kind", "metadata", "servers", "agents", "kubeAPI", "image", "network", "subnet", "token",
              "volumes", "manifests", "ports", "options", "env", "registries", "hostAliases"}
#: What the guide promises: the host ports of the dev platform.
HOST_PORTS = {"http": 8080, "https": 8443}


def dev_node_ports() -> dict[str, int]:
    gateway = load_stack("dev").kubeflow.gateway
    assert gateway.mode == "node-port"
    return {"http": gateway.node_ports.http, "https": gateway.node_ports.https}


def test_kind_config_uses_only_kinds_fields_and_maps_the_gateway() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "kind-dev.yaml").read_text())
    assert config["kind"] == "Cluster" and config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert set(config) <= KIND_CLUSTER_FIELDS
    assert config["name"] == "mlplane"  # context kind-mlplane, what Pulumi.dev.yaml names
    assert load_stack("dev").cluster.context == f"kind-{config['name']}"
    mappings = []
    for node in config["nodes"]:
        assert set(node) <= KIND_NODE_FIELDS and node["role"] in ("control-plane", "worker")
        for mapping in node.get("extraPortMappings", []):
            assert set(mapping) <= KIND_PORT_FIELDS and mapping["protocol"] in ("TCP", "UDP", "SCTP")
            mappings.append((mapping["containerPort"], mapping["hostPort"], mapping["listenAddress"]))
    ports = dev_node_ports()
    assert sorted(mappings) == sorted((ports[k], HOST_PORTS[k], "127.0.0.1") for k in ("http", "https"))


def test_k3d_config_uses_only_k3ds_fields_and_maps_the_gateway() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "k3d-dev.yaml").read_text())
    assert config["apiVersion"] == "k3d.io/v1alpha5" and config["kind"] == "Simple"
    assert set(config) <= K3D_FIELDS
    assert set(config["metadata"]) == {"name"} and config["servers"] >= 1 and config["agents"] >= 0
    assert set(config["options"]) <= {"k3d", "k3s", "kubeconfig", "runtime"}
    for arg in config["options"]["k3s"]["extraArgs"]:
        assert set(arg) <= {"arg", "nodeFilters"}
    mappings = []
    for entry in config["ports"]:
        assert set(entry) == {"port", "nodeFilters"} and entry["nodeFilters"] == ["loadbalancer"]
        address, host, container = entry["port"].split(":")
        mappings.append((int(container), int(host), address))
    ports = dev_node_ports()
    assert sorted(mappings) == sorted((ports[k], HOST_PORTS[k], "127.0.0.1") for k in ("http", "https"))


def test_the_guide_names_the_ports_and_configs_it_promises() -> None:
    text = (ROOT / "docs" / "running.md").read_text()
    assert f"http://localhost:{HOST_PORTS['http']}" in text and f":{HOST_PORTS['https']}" in text
    for path in ("deploy/kind-dev.yaml", "deploy/k3d-dev.yaml"):
        assert path in text and (ROOT / path).is_file()
    # Each cloud stack's extra, as the missing-SDK error names it.
    for _module, extra in CLOUD_SDKS.values():
        assert sdk_install_command(extra) in text


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+://|^mailto:|^#", target):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert not broken, f"{doc.name}: links to missing files: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_paths_in_backticks_exist(doc: Path) -> None:
    # `docs/x.md`, `deploy/x.yaml`, `infra/x.py`: files the docs name must be there.
    named = re.findall(r"`((?:docs|deploy|infra|components|policy|pipelines|tests)/[\w./-]+\.(?:md|yaml|py))`",
                       doc.read_text())
    missing = [name for name in named if not (ROOT / name).exists()]
    assert not missing, f"{doc.name}: names missing files: {missing}"
