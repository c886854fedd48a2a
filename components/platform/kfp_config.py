"""KFP's install settings mlplane changes: the cache image pinned, the per-namespace artifact proxy on.

A transform on the pipelines directory (see :mod:`components.credentials.transform` for the
mechanism, which the offline expansion runs too).

**Cache image.**
KFP's cache server starts the pod of a cached step from ``pipeline-install-config``'s
``cacheImage`` (``CACHE_IMAGE`` env of ``cache-server``), which both trains leave untagged:
``gcr.io/google-containers/busybox`` (kubeflow/manifests v1.8.1) and
``ghcr.io/containerd/busybox`` (26.03; ``applications/pipeline/upstream/base/installs/
generic/pipeline-install-config.yaml``). mlplane pins it to ``ghcr.io/containerd/busybox:1.36``,
the tag containerd's own integration tests pull (containerd/containerd
``integration/images/image_list.go``: ``BusyBox: "ghcr.io/containerd/busybox:1.36"``). The
cached pod only echoes the cached outputs, so any busybox serves.

**Artifact proxy.** KFP's UI reads artifacts with its own object-store key, the store's admin
key, for whatever ``namespace`` a request names; with ``ARTIFACTS_SERVICE_PROXY_ENABLED`` it
forwards each request that names a namespace to ``ml-pipeline-ui-artifact`` in that namespace
instead (kubeflow/pipelines 2.16.0 ``frontend/server/handlers/artifacts.ts``:
``getArtifactsProxyHandler`` routes by the ``namespace`` query parameter and checks nothing
else, so who may reach which proxy is the access matrix's cell, not the UI's). The profile
controller deploys that proxy in each profile with the profile's own credentials when its
``ARTIFACTS_PROXY_ENABLED`` is true (``sync.py`` of the ``kubeflow-pipelines-profile-controller-code``
ConfigMap, both trains). 26.03 reads both switches from ``pipeline-install-config``'s
``ARTIFACTS_PROXY_ENABLED`` (``false`` upstream); 1.8.1's UI has it on and its controller reads
an env var it is not given, so mlplane sets it there.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pulumi

CACHE_IMAGE = "ghcr.io/containerd/busybox:1.36"
PROXY_KEY = "ARTIFACTS_PROXY_ENABLED"
_CONFIG = "pipeline-install-config"
_PROFILE_CONTROLLER = "kubeflow-pipelines-profile-controller"


def patch_install_config(obj: Mapping[str, Any], image: str = CACHE_IMAGE) -> dict[str, Any] | None:
    """``pipeline-install-config`` with the cache image pinned and the artifact proxy on, the
    profile controller reading that switch; None for any other object."""
    name = (obj.get("metadata") or {}).get("name")
    if obj.get("kind") == "ConfigMap" and name == _CONFIG and "cacheImage" in (obj.get("data") or {}):
        patched = copy.deepcopy(dict(obj))
        patched["data"].update({"cacheImage": image, PROXY_KEY: "true"})
        return patched
    if obj.get("kind") == "Deployment" and name == _PROFILE_CONTROLLER:
        patched = copy.deepcopy(dict(obj))
        container = patched["spec"]["template"]["spec"]["containers"][0]
        env = [e for e in container.get("env") or [] if e.get("name") != PROXY_KEY]
        container["env"] = [*env, {"name": PROXY_KEY, "valueFrom": {"configMapKeyRef": {"name": _CONFIG,
                                                                                        "key": PROXY_KEY}}}]
        return patched if patched != obj else None
    return None


def install_config_transform(image: str = CACHE_IMAGE) -> pulumi.ResourceTransform:
    """The ``ResourceTransform`` that runs :func:`patch_install_config` on each child."""
    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom or not isinstance(args.props, Mapping):
            return None
        patched = patch_install_config(args.props, image)
        return None if patched is None else pulumi.ResourceTransformResult(props=patched, opts=args.opts)

    return transform
