"""``Profiles``: Kubeflow profiles and their contributors, declared instead of clicked.

mlplane creates each profile's namespace itself (a ``PlatformNamespace`` with Pod
Security labels and NetworkPolicies, annotated with the owner, which the profile
controller adopts), then the ``Profile``. Contributors get what KFAM would create when
the owner shares the profile in the dashboard: a RoleBinding to ``kubeflow-edit`` or
``kubeflow-view`` and an Istio AuthorizationPolicy admitting requests that carry
their user header *from the gateway or the KFP UI only* (KFAM's own policy: kubeflow/kubeflow
v1.8.0 components/access-management/kfam/bindings.go, getAuthorizationPolicy, whose
principals are ISTIO_INGRESS_GATEWAY_PRINCIPAL and KFP_UI_PRINCIPAL; without them any pod
could send the header). A ``view`` contributor's policy leaves out the profile's notebook
servers (``/notebook/<namespace>/``, the notebook controller's route prefix): Kubeflow's
notebook images run Jupyter and code-server without a token, so reaching one is running
code as the profile. KFAM gives a view contributor added in the dashboard at run time the
same policy as an editor (docs/security.md).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from mlplane.core.naming import k8s_name
from mlplane.components.platform.auth import USER_HEADER
from mlplane.components.platform.install import PartArgs, after, custom_resource
from mlplane.components.platform.istio import SECURITY_API
from mlplane.components.platform.spec import ProfileSpec

PROFILE_API = "kubeflow.org/v1"


class ProfilesArgs(PartArgs):
    """Arguments of :class:`Profiles`."""

    profiles: tuple[ProfileSpec, ...] = Field(description="The profiles to create.")
    namespaces: dict[str, pulumi.Resource] = Field(description="Each profile's namespace resource, by profile name.")
    protect: bool = Field(
        True, description="Protect the Profiles: deleting one makes Kubeflow delete its namespace and volumes.")
    controller: tuple[pulumi.Resource, ...] = Field((), description="The profile controller (its CRD).")
    roles: tuple[pulumi.Resource, ...] = Field((), description="Kubeflow's ClusterRoles.")
    mesh: tuple[pulumi.Resource, ...] = Field((), description="Istio (its CRDs and webhook).")
    callers: tuple[str, ...] = Field(
        description="Principals that forward a user's requests with the user header: the ingress gateway and "
                    "the KFP UI (as KFAM's ISTIO_INGRESS_GATEWAY_PRINCIPAL and KFP_UI_PRINCIPAL).")


def binding_name(email: str, role: str) -> str:
    """KFAM's name for a contributor's RoleBinding and AuthorizationPolicy."""
    return k8s_name("user", email, "clusterrole", role)


def notebook_paths(namespace: str) -> list[str]:
    """Paths of a profile's notebook servers (the notebook controller's VirtualService prefix
    ``/notebook/<namespace>/<name>/``: kubeflow/kubeflow v1.8.0
    components/notebook-controller/controllers/notebook_controller.go, generateVirtualService)."""
    return [f"/notebook/{namespace}/*"]


def contributor_policy(email: str, role: str, namespace: str, callers: tuple[str, ...]) -> dict[str, object]:
    """A contributor's ALLOW: their header, from the forwarding callers only; no notebooks for ``view``."""
    rule: dict[str, object] = {"from": [{"source": {"principals": list(callers)}}],
                               "when": [{"key": f"request.headers[{USER_HEADER}]", "values": [email]}]}
    if role == "view":
        rule["to"] = [{"operation": {"notPaths": notebook_paths(namespace)}}]
    return {"action": "ALLOW", "rules": [rule]}


#: The ValidatingAdmissionPolicy (and its binding) that closes run-time profile creation.
DECLARED_PROFILES_ONLY = "mlplane-declared-profiles-only"


def declared_profiles_policy(names: tuple[str, ...]) -> dict[str, object]:
    """The spec of a ValidatingAdmissionPolicy refusing every Profile the stack does not declare.

    Kubeflow creates profiles at run time through KFAM (the dashboard's registration flow:
    kubeflow/kubeflow v1.8.0 components/access-management/kfam/api_default.go, CreateProfile),
    and such a namespace gets neither mlplane's Pod Security labels nor its NetworkPolicies.
    Creation is closed instead: only the declared names are admitted (by anyone), so a new
    team is a reviewed change to the stack. Existing Profiles are untouched (CREATE only).
    The API server evaluates the CEL expression itself (admissionregistration.k8s.io/v1,
    Kubernetes 1.30 and later).
    """
    allowed = "[" + ", ".join(f"'{name}'" for name in sorted(names)) + "]"
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": [{"apiGroups": ["kubeflow.org"], "apiVersions": ["*"],
                                                "operations": ["CREATE"], "resources": ["profiles"]}]},
        "validations": [{
            "expression": f"object.metadata.name in {allowed}",
            "message": "profiles are declared in the stack (mlplane:kubeflow.profiles), not created at run time",
            "reason": "Forbidden",
        }],
    }


def notebook_users_policy(profile: ProfileSpec, callers: tuple[str, ...]) -> dict[str, object]:
    """A DENY: users' requests (through the gateway or KFP UI) to the profile's notebooks, but its editors'.

    KFAM gives a contributor added at run time (the dashboard's "Manage contributors")
    one ALLOW for every workload of the profile, whatever the role (kubeflow/kubeflow
    v1.8.0 components/access-management/kfam/bindings.go, getAuthorizationPolicy), so a
    viewer added there would reach the notebook servers. DENY wins over ALLOW (istio.io
    "Authorization Policy": DENY policies are evaluated first), so only the declared owner
    and ``edit`` contributors open them; requests from inside the namespace and the
    notebook controller's culling are not from those callers and keep their access.
    """
    editors = sorted({profile.owner, *(c.email for c in profile.contributors if c.role == "edit")})
    return {"action": "DENY", "rules": [{
        "from": [{"source": {"principals": list(callers)}}],
        "to": [{"operation": {"paths": notebook_paths(profile.name)}}],
        "when": [{"key": f"request.headers[{USER_HEADER}]", "notValues": editors}],
    }]}


class Profiles(pulumi.ComponentResource):
    """Profiles with owners and contributors.

    Attributes:
        profiles: The Profile resources by name.
    """

    def __init__(self, name: str, args: ProfilesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:platform:Profiles", name, None, opts)
        self.profiles: dict[str, pulumi.Resource] = {}
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-declared-only", metadata=k8s.meta.v1.ObjectMetaArgs(name=DECLARED_PROFILES_ONLY),
            spec=declared_profiles_policy(tuple(p.name for p in args.profiles)),
            opts=pulumi.ResourceOptions(parent=self))
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-declared-only-binding", metadata=k8s.meta.v1.ObjectMetaArgs(name=DECLARED_PROFILES_ONLY),
            spec={"policyName": DECLARED_PROFILES_ONLY, "validationActions": ["Deny"]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        for profile in args.profiles:
            namespace = args.namespaces[profile.name]
            base = f"{name}-{profile.name}"
            self.profiles[profile.name] = custom_resource(
                f"{base}-profile", PROFILE_API, "Profile", {"name": profile.name},
                {"owner": {"kind": "User", "name": profile.owner}},
                pulumi.ResourceOptions.merge(after(self, args.after, args.controller, namespace),
                                             pulumi.ResourceOptions(protect=args.protect,
                                                                    retain_on_delete=args.protect)))
            custom_resource(f"{base}-notebook-users", SECURITY_API, "AuthorizationPolicy",
                            {"name": "notebooks-declared-editors-only", "namespace": profile.name},
                            notebook_users_policy(profile, args.callers), after(self, args.after, namespace, args.mesh))
            for contributor in profile.contributors:
                rolename = f"kubeflow-{contributor.role}"
                object_name = binding_name(contributor.email, contributor.role)
                annotations = {"user": contributor.email, "role": contributor.role}
                k8s.rbac.v1.RoleBinding(
                    f"{base}-{object_name}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=profile.name,
                                                        annotations=annotations),
                    role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                                     name=rolename),
                    subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="User",
                                                      name=contributor.email)],
                    opts=after(self, args.after, namespace, args.roles))
                custom_resource(
                    f"{base}-{object_name}-access", SECURITY_API, "AuthorizationPolicy",
                    {"name": object_name, "namespace": profile.name, "annotations": annotations},
                    contributor_policy(contributor.email, contributor.role, profile.name, args.callers),
                    after(self, args.after, namespace, args.mesh))
        self.register_outputs({"profiles": sorted(self.profiles)})
