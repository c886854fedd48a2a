"""The Training Operator's ``init-pytorch`` container, made admissible under Pod Security ``restricted``.

Training Operator 1.7.0 (the 1.8.1 train) adds an ``init-pytorch`` container to every worker of
a PyTorchJob with a master; its built-in template sets no ``securityContext``
(kubeflow/training-operator v1.7.0 ``pkg/controller.v1/pytorch/initcontainer.go``,
``initContainerTemplate``), so the API server refuses those workers in a namespace enforcing
``restricted``, as mlplane's workload namespace does (a seeded case in
``tests/test_verify_faults.py`` shows the refusal on the real control plane). The operator reads
the template from ``/etc/config/initContainer.yaml`` when that file exists
(``getInitContainerTemplateOrDefault``; ``pkg/config/config.go``,
``PyTorchInitContainerTemplateFileDefault``), so mlplane mounts a ConfigMap there holding the
same template with a restricted ``securityContext``. The image stays the operator's
``--pytorch-init-container-image`` (``alpine:3.10``); busybox's ``nslookup`` needs no privilege,
so it runs as ``nobody``. Trainer 2.1.0 (26.03) has no such container.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlplane.components.patch_transform import patch_transform

#: The versions whose operator adds ``init-pytorch`` from this template.
OPERATOR_VERSIONS = frozenset({"1.7.0"})
#: Where the operator reads the template (pkg/config/config.go at v1.7.0).
TEMPLATE_DIR = "/etc/config"
TEMPLATE_FILE = "initContainer.yaml"
CONFIG_MAP = "training-operator-init-container"
#: The operator's Deployment in kubeflow/manifests v1.8.1 ``apps/training-operator/upstream/base/deployment.yaml``.
DEPLOYMENT = "training-operator"
_VOLUME = "init-container-template"

#: Upstream's template (a Go text/template over MasterAddr, InitContainerImage, MaxTries), with
#: the securityContext Pod Security ``restricted`` asks of every container.
TEMPLATE = """\
- name: init-pytorch
  image: {{.InitContainerImage}}
  imagePullPolicy: IfNotPresent
  resources:
    limits:
      cpu: 100m
      memory: 20Mi
    requests:
      cpu: 50m
      memory: 10Mi
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
    allowPrivilegeEscalation: false
    capabilities:
      drop: [ALL]
    seccompProfile:
      type: RuntimeDefault
  command: ['sh', '-c', 'err=1;for i in $(seq {{.MaxTries}}); do if nslookup {{.MasterAddr}}; then err=0 && break; fi;echo waiting for master; sleep 2; done; exit $err']
"""


def declare_template(name: str, namespace: str, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """The ConfigMap holding :data:`TEMPLATE` (before the directory, whose operator reads it at start)."""
    return k8s.core.v1.ConfigMap(f"{name}-training-init-container",
                                 metadata=k8s.meta.v1.ObjectMetaArgs(name=CONFIG_MAP, namespace=namespace),
                                 data={TEMPLATE_FILE: TEMPLATE}, opts=opts)


def mount_template(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The operator's Deployment with :data:`CONFIG_MAP` mounted at :data:`TEMPLATE_DIR`; None for others."""
    if obj.get("kind") != "Deployment" or (obj.get("metadata") or {}).get("name") != DEPLOYMENT:
        return None
    patched = copy.deepcopy(dict(obj))
    spec = patched["spec"]["template"]["spec"]
    volumes = [v for v in spec.get("volumes") or [] if v.get("name") != _VOLUME]
    spec["volumes"] = [*volumes, {"name": _VOLUME, "configMap": {"name": CONFIG_MAP}}]
    for container in spec.get("containers") or []:
        mounts = [m for m in container.get("volumeMounts") or [] if m.get("name") != _VOLUME]
        container["volumeMounts"] = [*mounts, {"name": _VOLUME, "mountPath": TEMPLATE_DIR, "readOnly": True}]
    return patched


def template_transform() -> pulumi.ResourceTransform:
    """A resource transform on the training directory applying :func:`mount_template` to its children."""
    return patch_transform(mount_template)
