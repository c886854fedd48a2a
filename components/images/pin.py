"""Pinning images by digest, as a Pulumi resource transform.

``mlplane:images.digests`` maps ``name:tag`` to ``sha256:<64 hex>``; every image reference
the plan runs that is a key becomes ``name:tag@sha256:...``. The tag stays for readers; a
reference with both pulls by digest (the kubelet and containerd resolve a reference that
carries a digest by the digest; distribution/reference ``normalize.go``: a canonical
reference is name + digest, the tag ignored for the pull).

The mechanism is the engine's: a stack transform (``pulumi.runtime.register_resource_transform``).
The engine's resource monitor runs, for every ``RegisterResource`` after it, the resource's own
transforms, then its ancestors', then the stack's (pulumi/pulumi ``pkg/resource/deploy/
source_eval.go``, ``resmon.RegisterResource``: ``transforms = append(transforms,
rm.stackTransforms...)``), whichever program registers it: mlplane's own objects and the
children that pulumi-kubernetes' ``helm.v4.Chart`` and ``kustomize.v2.Directory`` register
through the same monitor. The offline render records the same function and runs it on every
registration and every expanded child (``infra/offline``), so there is one code path for both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi

from mlplane.components.images.refs import parse, rewrite, spans

#: Marks the registered transform (tests find it by this attribute).
DIGEST_TRANSFORM = "_mlplane_digests"


def pinned(image: str, digests: Mapping[str, str]) -> str:
    """``image`` with its digest appended when ``digests`` has it (else unchanged)."""
    ref = parse(image)
    if ref is None or ref.digest is not None or image not in digests:
        return image
    return f"{image}@{digests[image]}"


def replace_images(obj: Mapping[str, Any], change: Callable[[str], str]) -> dict[str, Any] | None:
    """One object's properties with every image reference ``image`` replaced by ``change(image)``
    (wherever :func:`~mlplane.components.images.refs.uses` finds one), or None when unchanged.

    Args:
        obj: A Kubernetes object's properties (``apiVersion``, ``kind``, ``spec``, ...).
        change: Image -> the image to name instead (itself to keep it).

    Returns:
        A changed copy (``obj`` is not changed), or None when nothing changed.
    """
    def in_text(path: str, text: str, key: str, context: bool) -> str:
        del path
        out, last = [], 0
        for start, end in spans(text, key, context):
            out += [text[last:start], change(text[start:end])]
            last = end
        return "".join(out) + text[last:] if out else text

    patched = rewrite(obj, in_text)
    return None if patched is obj or patched == obj else dict(patched)


def pin_object(obj: Mapping[str, Any], digests: Mapping[str, str]) -> dict[str, Any] | None:
    """One object's properties with every image of ``digests`` (``name:tag`` -> ``sha256:<64 hex>``)
    pinned (see :func:`replace_images`)."""
    return replace_images(obj, lambda image: pinned(image, digests))


def image_transform(change: Callable[[str], str], mark: str, marked: Any) -> pulumi.ResourceTransform:
    """A ``ResourceTransform``: :func:`replace_images` with ``change`` on each custom resource,
    the function marked with attribute ``mark`` = ``marked`` (tests find it by that)."""
    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom or not isinstance(args.props, Mapping):
            return None
        patched = replace_images(args.props, change)
        return None if patched is None else pulumi.ResourceTransformResult(props=patched, opts=args.opts)

    setattr(transform, mark, marked)
    return transform


def digest_transform(digests: Mapping[str, str]) -> pulumi.ResourceTransform:
    """The ``ResourceTransform`` registered for the stack: :func:`pin_object` on each resource."""
    frozen = dict(digests)
    return image_transform(lambda image: pinned(image, frozen), DIGEST_TRANSFORM, tuple(sorted(frozen)))
