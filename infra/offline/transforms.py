"""Running registered resource transforms on a resource's properties, as the engine does.

The engine calls each transform of a resource, then of each ancestor, then the stack's, with
the resource's type, name and properties, and registers what the last one returns
(pulumi/pulumi ``sdk/python/lib/pulumi/runtime/_callbacks.py``: ``TransformRequest`` in,
``TransformResponse`` out; a transform returning None leaves them as they were). The SDK's
mock monitor runs none of them, so the offline render calls the registered functions here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi

from mlplane.components.base import SECRET_MASK


def run_transforms(type_: str, name: str, props: Mapping[str, Any],
                   transforms: Sequence[Callable[..., Any]]) -> Any:
    """``props`` after ``transforms`` in order (nearest first); values known only at
    deployment (outputs such as generated passwords, all secret) become ``[secret]``."""
    result_props: Any = props
    for transform in transforms:
        result = transform(pulumi.ResourceTransformArgs(custom=True, type_=type_, name=name,
                                                        props=result_props, opts=pulumi.ResourceOptions()))
        if result is not None:
            result_props = result.props
    return known(result_props) if result_props is not props else props


def known(value: Any) -> Any:
    """``value`` with every ``pulumi.Output`` in it recorded as ``[secret]``."""
    if isinstance(value, pulumi.Output):
        return SECRET_MASK
    if isinstance(value, Mapping):
        return {key: known(item) for key, item in value.items()}
    if isinstance(value, list):
        return [known(item) for item in value]
    return value
