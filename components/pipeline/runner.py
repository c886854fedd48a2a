"""``PipelineRunner``: the identity of steps that manage Kubernetes objects themselves.

KFP v1 "deployer" containers (like the MNIST pipeline's serve and web-UI steps) create
Deployments and Services through the Kubernetes API. They get a ServiceAccount whose
Role is limited to their namespace and to the kinds such containers manage; every other
step runs without an API token.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.components.base import ArgsModel
from mlplane.core.naming import k8s_name

_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]

#: What a runner may do, in its own namespace only.
RUNNER_RULES = [
    {"apiGroups": [""], "resources": ["pods", "pods/log", "services", "configmaps", "persistentvolumeclaims"],
     "verbs": _VERBS},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": _VERBS},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _VERBS},
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": _VERBS},
    {"apiGroups": ["networking.istio.io"], "resources": ["virtualservices"], "verbs": _VERBS},
]


class PipelineRunnerArgs(ArgsModel):
    """Arguments of :class:`PipelineRunner`."""

    pipeline: str = Field(description="The pipeline's name.")
    namespace: str = Field(description="The namespace the steps run (and may act) in.")


class PipelineRunner(pulumi.ComponentResource):
    """A namespaced ServiceAccount, Role and RoleBinding for a pipeline's steps.

    Attributes:
        service_account: The ServiceAccount's name.
    """

    def __init__(self, name: str, args: PipelineRunnerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplane:pipeline:PipelineRunner", name, None, opts)
        self.service_account = k8s_name(args.pipeline, "runner")
        metadata = {"name": self.service_account, "namespace": args.namespace,
                    "labels": {"app.kubernetes.io/managed-by": "mlplane", "mlplane.dev/pipeline": args.pipeline}}
        child = pulumi.ResourceOptions(parent=self)
        account = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=metadata, automount_service_account_token=False,
                                             opts=child)
        role = k8s.rbac.v1.Role(f"{name}-role", metadata=metadata, rules=RUNNER_RULES, opts=child)
        k8s.rbac.v1.RoleBinding(
            f"{name}-binding",
            metadata=metadata,
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": self.service_account},
            subjects=[{"kind": "ServiceAccount", "name": self.service_account, "namespace": args.namespace}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, role]),
        )
        self.register_outputs({"service_account": self.service_account})
