"""Pinning the images upstream names without a tag, by a transform on the directory that names them.

KFP's cache server starts the pod of a cached step from ``pipeline-install-config``'s
``cacheImage`` (``CACHE_IMAGE`` env of ``cache-server``), which both trains leave untagged:
``gcr.io/google-containers/busybox`` (kubeflow/manifests v1.8.1) and
``ghcr.io/containerd/busybox`` (26.03; ``applications/pipeline/upstream/base/installs/
generic/pipeline-install-config.yaml``). mlplane pins it to ``ghcr.io/containerd/busybox:1.36``,
the tag containerd's own integration tests pull (containerd/containerd
``integration/images/image_list.go``: ``BusyBox: "ghcr.io/containerd/busybox:1.36"``). The
cached pod only echoes the cached outputs, so any busybox serves.

Registered like the credential transform (a ``transforms`` resource option the offline
expansion runs too; see :mod:`components.credentials.transform`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pulumi

CACHE_IMAGE = "ghcr.io/containerd/busybox:1.36"
_CONFIG = "pipeline-install-config"


def patch_cache_image(obj: Mapping[str, Any], image: str = CACHE_IMAGE) -> dict[str, Any] | None:
    """``pipeline-install-config`` with ``cacheImage`` pinned, or None for any other object."""
    if obj.get("kind") != "ConfigMap" or (obj.get("metadata") or {}).get("name") != _CONFIG:
        return None
    if "cacheImage" not in (obj.get("data") or {}):
        return None
    patched = copy.deepcopy(dict(obj))
    patched["data"]["cacheImage"] = image
    return patched


def cache_image_transform(image: str = CACHE_IMAGE) -> pulumi.ResourceTransform:
    """The ``ResourceTransform`` that runs :func:`patch_cache_image` on each child."""
    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom or not isinstance(args.props, Mapping):
            return None
        patched = patch_cache_image(args.props, image)
        return None if patched is None else pulumi.ResourceTransformResult(props=patched, opts=args.opts)

    return transform
