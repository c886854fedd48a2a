"""Accelerator pools (NVIDIA, AMD, Intel) and device enablement.

``spec`` and ``catalog`` are pure; ``pool`` and ``devices`` are the components. Each
backend module (``selfhosted``, ``gke``, ``eks``, ``aks``) is imported only by a pool on
that kind of cluster, so the cloud SDKs load only where a stack needs them.
"""
