"""``DeviceEnablement``: the device plugins that make accelerators schedulable.

- NVIDIA: NVIDIA's k8s-device-plugin chart, or the GPU Operator chart, with one named
  device plugin config per pool that shares (time-slicing, MPS) or partitions (MIG) its
  GPUs; the node label ``nvidia.com/device-plugin.config`` (set by the pool) picks it.
  GKE enables NVIDIA GPUs itself, so nothing is installed there.
- AMD: the ROCm device plugin, as a DaemonSet on the AMD pools' nodes.
- Intel: the Intel GPU plugin, one DaemonSet per pool (``-shared-dev-num`` shares).
- node-feature-discovery where needed (see :func:`~components.accelerators.spec.wants_nfd`).

Device plugins register with the kubelet through a host socket and read devices from
the host: they run in a namespace with the Pod Security level ``privileged``, the one
documented exception to mlplane's restricted pods (docs/accelerators.md).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import Field

from mlplane.components.accelerators.spec import (
    NFD_CHART,
    NVIDIA_DEFAULT_CONFIG,
    AcceleratorSettings,
    PoolSpec,
    node_taints,
    nvidia_plugin_config,
    pool_node_selector,
    uses_device_plugin_config,
    wants_nfd,
)
from mlplane.components.base import ArgsModel
from mlplane.components.charts import install_chart
from mlplane.core.naming import k8s_name
from mlplane.components.pod_security import ComputeResources

#: ConfigMap with the NVIDIA device plugin configs (GPU Operator mode).
NVIDIA_CONFIG_MAP = "nvidia-device-plugin-configs"
_PLUGIN_RESOURCES = ComputeResources(cpu_request="50m", memory_request="64Mi", cpu_limit="200m", memory_limit="256Mi")


class DeviceEnablementArgs(ArgsModel):
    """Arguments of :class:`DeviceEnablement`."""

    namespace: str = Field(description="Namespace of the device plugins (Pod Security: privileged).")
    backend: str = Field(description="Cluster kind: selfhosted, gke, eks or aks.")
    settings: AcceleratorSettings = Field(description="Device enablement settings.")
    pools: tuple[PoolSpec, ...] = Field(description="The stack's pools.")
    chart_sources: dict[str, str] = Field(
        default_factory=dict,
        description="Mirrors or local copies of charts by chart name (mlplane:kubeflow.sources.charts), folders absolute.")


def _yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=True, default_flow_style=False)


def nvidia_configs(pools: tuple[PoolSpec, ...], backend: str) -> dict[str, str]:
    """Named NVIDIA device plugin config files: ``default`` plus one per sharing/MIG pool."""
    configs = {NVIDIA_DEFAULT_CONFIG: _yaml(nvidia_plugin_config(None))}
    for pool in pools:
        if uses_device_plugin_config(pool, backend):
            configs[pool.node_name] = _yaml(nvidia_plugin_config(pool, backend))
    return configs


def node_affinity(pools: tuple[PoolSpec, ...], backend: str) -> dict[str, Any]:
    """A required node affinity matching the nodes of any of ``pools`` (terms are ORed)."""
    terms = [{"matchExpressions": [{"key": k, "operator": "In", "values": [v]}
                                   for k, v in sorted(pool_node_selector(p, backend).items())]} for p in pools]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


def plugin_tolerations(pools: tuple[PoolSpec, ...], backend: str) -> list[dict[str, str]]:
    """Tolerations for every taint of ``pools``' nodes on ``backend`` (the plugins must run there)."""
    tolerations = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    for pool in pools:
        for taint in node_taints(pool, backend):
            if taint.toleration() not in tolerations:
                tolerations.append(taint.toleration())
    return tolerations


#: The label namespace GPU feature discovery publishes in (``nvidia.com/mps.capable``, ...).
NVIDIA_LABEL_NS = "nvidia.com"


def nfd_values(pools: tuple[PoolSpec, ...], backend: str) -> dict[str, Any]:
    """Values of node-feature-discovery (standalone, or the NVIDIA chart's ``nfd`` subchart).

    GPU feature discovery writes its labels into NFD's local feature files; NFD's worker
    must therefore run on the pools' (tainted) nodes, and its master must accept the
    ``nvidia.com`` namespace, as the NVIDIA chart's own subchart values do
    (nvidia-device-plugin-0.18.2/values.yaml: ``nfd.master.config.extraLabelNs``).
    """
    return {"master": {"extraLabelNs": [NVIDIA_LABEL_NS]},
            "worker": {"tolerations": plugin_tolerations(pools, backend)}}


def wants_gfd(pools: tuple[PoolSpec, ...]) -> bool:
    """Whether GPU feature discovery must run: some pool shares its GPUs through MPS.

    The chart runs its MPS control daemon only on nodes labelled
    ``nvidia.com/mps.capable=true`` (nvidia-device-plugin-0.18.2/templates/
    daemonset-mps-control-daemon.yml: ``nodeSelector``), a label GPU feature discovery
    sets from the node's device plugin config; ``gfd.enabled`` defaults to false
    (values.yaml), so without it no shared GPU is ever advertised.
    """
    return any(p.sharing is not None and p.sharing.kind == "mps" for p in pools)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, recursively for mappings."""
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else value
    return merged


class DeviceEnablement(pulumi.ComponentResource):
    """Device plugins (and node feature discovery) for the stack's accelerator pools."""

    def __init__(self, name: str, args: DeviceEnablementArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:accelerators:DeviceEnablement", name, None, opts)
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        by_vendor = {v: tuple(p for p in args.pools if p.vendor == v) for v in ("nvidia", "amd", "intel")}
        standalone_nfd = wants_nfd(args.settings, args.backend, bool(args.pools))
        if standalone_nfd:
            install_chart(f"{name}-nfd", NFD_CHART, args.namespace, nfd_values(args.pools, args.backend), child,
                          args.chart_sources.get(NFD_CHART.ref.name))
        if by_vendor["nvidia"] and args.backend != "gke":
            self._nvidia(by_vendor["nvidia"], standalone_nfd, child)
        if by_vendor["amd"]:
            self._amd(by_vendor["amd"], child)
        for pool in by_vendor["intel"]:
            self._intel(pool, child)
        self.register_outputs({})

    def _nvidia(self, pools: tuple[PoolSpec, ...], standalone_nfd: bool, opts: pulumi.ResourceOptions) -> None:
        args, settings = self._args, self._args.settings.nvidia
        configs = nvidia_configs(pools, args.backend)
        if settings.mode == "gpu-operator":
            config_map = k8s.core.v1.ConfigMap(
                f"{self._name}-nvidia-configs",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=NVIDIA_CONFIG_MAP, namespace=args.namespace),
                data=configs,
                opts=opts,
            )
            values: dict[str, Any] = {
                "devicePlugin": {"config": {"name": NVIDIA_CONFIG_MAP, "default": NVIDIA_DEFAULT_CONFIG}},
                "driver": {"enabled": settings.install_driver},
                "nfd": {"enabled": not standalone_nfd},
                "mig": {"strategy": "single"},
                "daemonsets": {"tolerations": plugin_tolerations(pools, self._args.backend)},
            }
            chart_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[config_map]))
        else:
            values = {
                "config": {"map": configs, "default": NVIDIA_DEFAULT_CONFIG},
                "affinity": node_affinity(pools, args.backend),
                "tolerations": plugin_tolerations(pools, args.backend),
            }
            if wants_gfd(pools):
                # GFD (with the chart's affinity and config) labels MPS nodes; its labels
                # reach the node through NFD: the standalone install, else the subchart
                # (Chart.yaml: condition `nfd.enabled,gfd.enabled`, the first set wins).
                values["gfd"] = {"enabled": True}
                values["nfd"] = {"enabled": False} if standalone_nfd else {"enabled": True, **nfd_values(pools, args.backend)}
            chart_opts = opts
        chart = settings.effective_chart
        install_chart(f"{self._name}-nvidia", chart, args.namespace, deep_merge(values, settings.values), chart_opts,
                      args.chart_sources.get(chart.ref.name))

    def _daemonset(self, role: str, object_name: str, image: str, spec_extra: dict[str, Any],
                   container_extra: dict[str, Any], volumes: list[tuple[str, str, str | None]],
                   opts: pulumi.ResourceOptions) -> None:
        labels = {"app.kubernetes.io/name": object_name, "app.kubernetes.io/part-of": "mlplane"}
        mounts = [{"name": vol, "mountPath": path} for vol, path, _ in volumes]
        host_volumes = [{"name": vol, "hostPath": {"path": path, **({"type": kind} if kind else {})}}
                        for vol, path, kind in volumes]
        k8s.apps.v1.DaemonSet(
            f"{self._name}-{role}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=self._args.namespace, labels=labels),
            spec={
                "selector": {"matchLabels": labels},
                "updateStrategy": {"type": "RollingUpdate"},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "priorityClassName": "system-node-critical",
                        "automountServiceAccountToken": False,
                        "containers": [{
                            "name": "plugin",
                            "image": image,
                            "resources": _PLUGIN_RESOURCES.to_k8s(),
                            "volumeMounts": mounts,
                            **container_extra,
                        }],
                        "volumes": host_volumes,
                        **spec_extra,
                    },
                },
            },
            opts=opts,
        )

    def _amd(self, pools: tuple[PoolSpec, ...], opts: pulumi.ResourceOptions) -> None:
        self._daemonset(
            "amd", "amd-gpu-device-plugin", self._args.settings.amd.image,
            {"affinity": node_affinity(pools, self._args.backend),
             "tolerations": plugin_tolerations(pools, self._args.backend)},
            {"securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}},
            [("device-plugins", "/var/lib/kubelet/device-plugins", None), ("sys", "/sys", None)],
            opts,
        )

    def _intel(self, pool: PoolSpec, opts: pulumi.ResourceOptions) -> None:
        args = [f"-shared-dev-num={pool.sharing.replicas}"] if pool.sharing is not None else []
        self._daemonset(
            f"intel-{pool.node_name}", k8s_name("intel-gpu-plugin", pool.node_name), self._args.settings.intel.image,
            {"nodeSelector": pool_node_selector(pool, self._args.backend),
             "tolerations": plugin_tolerations((pool,), self._args.backend)},
            {
                "args": args,
                "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                "securityContext": {
                    "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
                    "seLinuxOptions": {"type": "container_device_plugin_t"},
                },
            },
            [("devfs", "/dev/dri", None), ("sysfsdrm", "/sys/class/drm", None),
             ("device-plugins", "/var/lib/kubelet/device-plugins", None), ("cdi", "/var/run/cdi", "DirectoryOrCreate")],
            opts,
        )
