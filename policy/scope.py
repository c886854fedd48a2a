"""Which resources mlplane answers for.

Objects that a Helm chart, a kustomize directory or a YAML group renders are upstream
manifests (Istio, Kubeflow, the GPU Operator, ...): mlplane pins their versions and
documents their exceptions (docs/platform.md), but does not rewrite them, so the rules
judge only what mlplane's own code declares. Such objects are recognised by their URN:
the type chain before the resource's own type names every ancestor.
"""

from __future__ import annotations

#: Component types whose children are upstream manifests.
UPSTREAM_PARENT_TYPES = frozenset(
    {
        "kubernetes:helm.sh/v3:Chart",
        "kubernetes:helm.sh/v4:Chart",
        "kubernetes:kustomize:Directory",
        "kubernetes:kustomize/v2:Directory",
        "kubernetes:yaml:ConfigFile",
        "kubernetes:yaml:ConfigGroup",
        "kubernetes:yaml/v2:ConfigFile",
        "kubernetes:yaml/v2:ConfigGroup",
    }
)


def ancestor_types(urn: str) -> list[str]:
    """The types of a resource's ancestors, outermost first, read from its URN.

    ``urn:pulumi:dev::mlplane::a:b:C$kubernetes:helm.sh/v4:Chart$kubernetes:apps/v1:Deployment::x``
    gives ``["a:b:C", "kubernetes:helm.sh/v4:Chart"]``.
    """
    parts = urn.split("::")
    if len(parts) < 4:
        return []
    chain = parts[2].split("$")
    return chain[:-1]


def in_scope(urn: str) -> bool:
    """Whether mlplane's rules judge this resource (it is not an upstream chart's object)."""
    return not any(t in UPSTREAM_PARENT_TYPES for t in ancestor_types(urn))
