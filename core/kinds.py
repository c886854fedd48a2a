"""Kubernetes' built-in kinds that live outside namespaces.

Custom resources say their own scope in their CustomResourceDefinition (``spec.scope``);
these are the built-in kinds a plan may hold that the API server serves at cluster level,
each among ``kubectl api-resources --namespaced=false`` of the v1.36.2 control plane in
../shared/k8s (tests/test_kinds_cluster.py asks it).
"""

from __future__ import annotations

BUILTIN_CLUSTER_SCOPED_KINDS = frozenset({
    "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding", "ComponentStatus", "CSIDriver",
    "CSINode", "CustomResourceDefinition", "FlowSchema", "IngressClass", "MutatingWebhookConfiguration", "Namespace",
    "Node", "PersistentVolume", "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass", "StorageClass",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
    "VolumeAttachment"})
