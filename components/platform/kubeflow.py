"""``KubeflowApps``: Kubeflow's applications and KServe, in dependency order.

Order (each arrow an explicit ``depends_on``):

    namespace, cert-manager issuers, Istio ─► kubeflow roles ─► profiles + KFAM ─►
        dashboard, notebooks, pipelines, katib, training, tensorboards, volumes,
        model registry
    Knative Serving (serverless) ─► KServe CRDs ─► KServe controller ─► models web app

Every kubeflow/manifests directory waits for cert-manager's issuer (their webhook
certificates) and for istiod (their VirtualServices and AuthorizationPolicies).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import Field

from mlplane.components.charts import minor_version
from mlplane.components.credentials import profile_identities
from mlplane.components.credentials.generated import generate, generate_profile_keys
from mlplane.components.credentials.migration import SERVICE_ACCOUNT, declare_migrations, migration_account
from mlplane.components.credentials.stores import stores_of
from mlplane.components.credentials.transform import credential_transform
from mlplane.components.platform.install import PartArgs, after, install_source
from mlplane.components.platform.istio import INGRESS_GATEWAY, KUBEFLOW_GATEWAY
from mlplane.components.images.kserve import storage_initializer_transform
from mlplane.components.platform import training_init
from mlplane.components.platform.kfp_config import install_config_transform
from mlplane.components.platform.notebook_culling import NotebookCulling, declare_culling
from mlplane.components.platform.releases import DEFAULT_RELEASE, KUBEFLOW_APPS, release
from mlplane.components.platform.resolve import ResolvedComponent
from mlplane.components.platform.spec import DATA_COMPONENTS

#: Applications that come after profiles (they serve users in profile namespaces).
_AFTER_PROFILES = tuple(k for k in KUBEFLOW_APPS if k not in ("kubeflow_roles", "profiles"))


class KubeflowAppsArgs(PartArgs):
    """Arguments of :class:`KubeflowApps`."""

    components: Mapping[str, ResolvedComponent] = Field(description="Every component, resolved.")
    kserve_mode: str = Field("serverless", description="KServe's deployment mode: serverless or raw.")
    knative: tuple[pulumi.Resource, ...] = Field((), description="Knative Serving, for KServe in serverless mode.")
    kubeflow_namespace: str = Field("kubeflow", description="Kubeflow's namespace.")
    istio_namespace: str = Field("istio-system", description="Where the ingress gateway runs.")
    domain: str | None = Field(None, description="Host name inference services are served under.")
    protect_data: bool = Field(
        True, description="Protect the sources of components that hold data (DATA_COMPONENTS) from deletion.")
    release: str = Field(DEFAULT_RELEASE, description="The release train (names of generated objects).")
    notebook_culling: NotebookCulling = Field(
        default_factory=NotebookCulling, description="The notebook controller's idle culling settings.")
    rotate: Mapping[str, str] = Field(
        default_factory=dict, description="Rotation token by store id (``mlplane:kubeflow.credentials.rotate``).")
    profiles: tuple[str, ...] = Field(
        (), description="Declared profiles (their namespaces): on KFP 2.0.5 each gets a MinIO identity of its own.")


def kserve_values(role: str, args: KubeflowAppsArgs, version: str) -> dict[str, Any]:
    """mlplane's values for KServe's charts at ``version``.

    ``ingressGateway.gatewayService`` exists up to 0.11 (kserve/kserve v0.11.2
    charts/kserve-resources/templates/configmap.yaml: ``"ingressService"``); the 0.16 chart
    has no such value and would ignore it (v0.16.0 values.yaml and configmap.yaml).
    """
    if role != "controller":
        return {}
    ingress: dict[str, Any] = {"gateway": f"{args.kubeflow_namespace}/{KUBEFLOW_GATEWAY}"}
    if minor_version(version) < 12:
        ingress["gatewayService"] = f"{INGRESS_GATEWAY}.{args.istio_namespace}.svc.cluster.local"
    return {"kserve": {"controller": {
        "deploymentMode": "Serverless" if args.kserve_mode == "serverless" else "RawDeployment",
        "gateway": {**({"domain": args.domain} if args.domain else {}), "ingressGateway": ingress},
    }}}



class KubeflowApps(pulumi.ComponentResource):
    """Kubeflow's applications (kustomize directories) and KServe (Helm charts).

    Attributes:
        installed: Every installed source by ``<component>/<role>``.
        profiles: The profile controller's directory (its CRD), None if not installed.
        roles: The kubeflow roles directory, None if not installed.
    """

    def __init__(self, name: str, args: KubeflowAppsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplane:platform:KubeflowApps", name, None, opts)
        self._base = name
        self._migration_account: pulumi.Resource | None = None
        self.installed: dict[str, pulumi.Resource] = {}
        components = args.components
        self.roles = self._install("kubeflow_roles", components, args, [])
        self.profiles = self._install("profiles", components, args, [self.roles])
        for key in _AFTER_PROFILES:
            if key == "models_web_app":
                continue
            self._install(key, components, args, [self.roles, self.profiles])
        controller = self.installed.get("notebooks/controller")
        # Only at the release's own tag is the controller's ConfigMap name known (its hash).
        if controller is not None and components["notebooks"].source("controller").version \
                == release(args.release).manifests_ref:
            declare_culling(f"{name}-notebooks", args.release, args.kubeflow_namespace, args.notebook_culling,
                            pulumi.ResourceOptions(parent=self, depends_on=[controller]))

        kserve = components["kserve"]
        previous: list[pulumi.Resource] = list(args.knative) if args.kserve_mode == "serverless" else []
        kserve_last: pulumi.Resource | None = None
        if kserve.enabled:
            for source in kserve.sources:
                opts = after(self, args.after, previous)
                if source.role == "controller":  # its storage initializer is `latest` in places
                    opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                        transforms=[storage_initializer_transform(source.version)]))
                kserve_last = install_source(f"{name}-kserve-{source.role}", kserve, source,
                                             kserve_values(source.role, args, source.version), opts)
                self.installed[f"kserve/{source.role}"] = kserve_last
                previous = [kserve_last]
        self._install("models_web_app", components, args, [kserve_last])
        self.register_outputs({"installed": sorted(self.installed)})

    def _install(self, key: str, components: Mapping[str, ResolvedComponent], args: KubeflowAppsArgs,
                 needs: list[pulumi.Resource | None]) -> pulumi.Resource | None:
        component = components[key]
        if not component.enabled:
            return None
        last = None
        # Removing (or replacing) these sources would delete their database with them.
        keep = args.protect_data and key in DATA_COMPONENTS
        # Every credential the component's directories publish is generated and written in by
        # a transform on each of its directories (consumers may sit in any of them).
        stores = stores_of(key)
        transforms: list[pulumi.ResourceTransform] = []
        # KFP on MinIO copies the root key into every profile: each declared one gets its own.
        # (None elsewhere; with no profile declared, sync.py is still patched: nobody gets the root key.)
        profiles = args.profiles if key == "pipelines" and component.app_version in \
            profile_identities.KFP_VERSIONS else None
        keys: pulumi.Resource | None = None
        if stores:
            values = generate(f"{self._base}-credentials", stores, args.rotate, self)
            marks = {s.id: args.rotate.get(s.id, "generated") for s in stores}
            transforms.append(credential_transform(stores, values, marks, profiles))
            # The running databases move to the generated password before the directory changes.
            if self._migration_account is None:
                self._migration_account = migration_account(f"{self._base}-credentials", args.kubeflow_namespace,
                                                            after(self, args.after))
            needs = [*needs, *declare_migrations(f"{self._base}-credentials", stores, values, args.rotate,
                                                 args.kubeflow_namespace, self._migration_account,
                                                 after(self, args.after, needs))]
            if profiles:  # the profile controller reads the keys: they exist before it starts
                keys = profile_identities.declare_keys(
                    f"{self._base}-credentials", generate_profile_keys(
                        f"{self._base}-credentials", profiles, args.rotate.get("kfp-object-store"), self),
                    args.kubeflow_namespace, after(self, args.after, needs))
                needs = [*needs, keys]
        if key == "pipelines":  # its cache image is untagged; its artifact proxy is off
            transforms.append(install_config_transform())
        if key == "training" and component.app_version in training_init.OPERATOR_VERSIONS:
            # Its workers' init container would be refused under Pod Security `restricted`.
            needs = [*needs, training_init.declare_template(self._base, args.kubeflow_namespace,
                                                            after(self, args.after, needs))]
            transforms.append(training_init.template_transform())
        for source in component.sources:
            opts = pulumi.ResourceOptions.merge(after(self, args.after, needs),
                                                pulumi.ResourceOptions(protect=keep, retain_on_delete=keep,
                                                                       transforms=transforms or None))
            last = install_source(f"{self._base}-{key.replace('_', '-')}-{source.role}", component, source, None,
                                  opts)
            self.installed[f"{key}/{source.role}"] = last
        if keys is not None and last is not None and self._migration_account is not None:
            # MinIO runs from the directory: the Job adding the identities comes after it.
            profile_identities.declare_job(
                f"{self._base}-credentials", profiles, args.rotate.get("kfp-object-store", "generated"),
                args.kubeflow_namespace, SERVICE_ACCOUNT, [last, keys, self._migration_account],
                after(self, args.after))
        return last
