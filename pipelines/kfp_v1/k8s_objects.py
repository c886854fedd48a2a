"""Kubernetes objects as KFP v1 pipelines pass them: ``kubernetes.client`` models or dicts."""

from __future__ import annotations

from typing import Any


def to_plain(value: Any) -> Any:
    """A ``kubernetes.client`` model (V1Volume, V1Toleration, ...) as its API dict.

    Dicts and plain values pass through; model objects are serialized the way the
    Kubernetes client sends them (camelCase keys, no nulls).
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if hasattr(value, "openapi_types") and hasattr(value, "attribute_map"):
        from kubernetes.client import ApiClient  # slow import, only when a model is used

        return ApiClient().sanitize_for_serialization(value)
    return str(value)
