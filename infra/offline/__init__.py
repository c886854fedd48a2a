"""The offline plan: the stack program run under the Pulumi SDK's mock runtime.

``render`` records every registration (with all its options) into a :class:`Plan`;
``manifests`` writes the Kubernetes objects out; ``diff`` compares two plans.
"""
