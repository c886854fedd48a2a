"""One object patch as a Pulumi resource transform on a chart's or directory's children."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi

#: A patch: the child's properties -> the patched copy, or None to leave the child as it is.
Patch = Callable[[Mapping[str, Any]], "dict[str, Any] | None"]


def patch_transform(patch: Patch) -> pulumi.ResourceTransform:
    """The ``ResourceTransform`` running ``patch`` on each custom child's properties.

    The offline expansion runs the same registered function (infra/offline/transforms.py), so
    a preview and the engine patch the same objects.
    """
    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom or not isinstance(args.props, Mapping):
            return None
        patched = patch(args.props)
        return None if patched is None else pulumi.ResourceTransformResult(props=patched, opts=args.opts)

    return transform
