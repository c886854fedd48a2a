"""What a stack needs on its cluster that the plan does not install: drivers, provisioners, controllers.

mlplane creates StorageClasses, Karpenter NodePools and load-balanced Services; each only
works where a driver or controller answers for it. Those are cluster infrastructure the
platform team installs once, and their install sources are not in the pinned upstream
sources this project can check offline, so the plan declares them instead of installing
them: ``mlplane preview`` lists each with the command that checks it is there
(docs/running.md).

Each check names an object the component itself registers: a CSI driver's ``CSIDriver``
object, named as the driver that StorageClasses name as provisioner (csi-driver-nfs:
``nfs.csi.k8s.io``, kubernetes-csi/csi-driver-nfs deploy/csi-nfs-driverinfo.yaml),
Karpenter's CRDs (``karpenter.sh`` NodePool and ``karpenter.k8s.aws`` EC2NodeClass, as in
``../shared/crds``), the AWS Load Balancer Controller's ``TargetGroupBinding`` CRD
(kubernetes-sigs/aws-load-balancer-controller config/crd/bases/elbv2.k8s.aws_targetgroupbindings.yaml).

Kubeflow's databases and artifact store (Pipelines, Katib, the Model Registry) claim
volumes that name no StorageClass (kubeflow/manifests, e.g. applications/pipeline/upstream/
third-party/mysql/base/mysql-pv-claim.yaml), which the API server's DefaultStorageClass
admission plugin gives the cluster's default class; without one they stay Pending. Unless
the stack marks one of its own classes ``default``, a default class is a prerequisite,
checked by its ``storageclass.kubernetes.io/is-default-class`` annotation.

Every Helm chart mlplane installs runs mlplane's post-renderer (``mlplane-depends-on``,
components/depends_on.py), which Helm finds on ``PATH`` (helm/helm v3.20.2
``pkg/postrender/exec.go``: ``exec.LookPath``) of the pulumi-kubernetes provider, which
runs with the ``pulumi`` command's environment: the project's virtualenv must be active.

Every kustomize directory mlplane installs goes through a local kustomization that runs the
same command as a kustomize exec transformer plugin (components/ordered_directory.py); the
provider's kustomize finds it in its plugin home (kubernetes-sigs/kustomize api/v0.21.1
``api/konfig/plugins.go``, ``DefaultAbsPluginHome``), where ``mlplane-depends-on
--install-kustomize-plugin`` puts it.

The taints of a self-hosted pool's named nodes are a prerequisite too, not a patch:
``spec.taints`` is an atomic list under server-side apply, so a patch would either drop
the taints others set or conflict with them (components/accelerators/selfhosted.py).
Each node's check greps the pool's taints out of the live node; ``kubectl taint
--overwrite`` sets one taint and keeps every other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlplane.components import depends_on, ordered_directory
from mlplane.components.accelerators.spec import PoolSpec, Taint
from mlplane.components.platform.resolve import resolve
from mlplane.components.platform.spec import DATA_COMPONENTS
from mlplane.infra.config import StackConfig


@dataclass(frozen=True)
class Prerequisite:
    """Something the cluster must have before ``pulumi up``.

    Attributes:
        name: What it is (``csi-driver-nfs``).
        needed_by: What in the stack needs it (a key path and why).
        check: A command that succeeds only where it is installed.
        install: Where to get it.
    """

    name: str
    needed_by: str
    check: str
    install: str


def _csi(driver: str) -> str:
    return f"kubectl get csidriver {driver}"


_LOCAL_PATH_CHECK = ("kubectl get storageclass -o jsonpath='{.items[*].provisioner}' | tr ' ' '\\n' "
                     "| grep -qx rancher.io/local-path")

#: The driver behind each StorageClass kind: (name, check, install).
_CLASS_DRIVERS = {
    "nfs": ("csi-driver-nfs", _csi("nfs.csi.k8s.io"),
            "the csi-driver-nfs Helm chart of kubernetes-csi/csi-driver-nfs (not installed by mlplane)"),
    "local-path": ("local-path-provisioner", _LOCAL_PATH_CHECK,
                   "kind and k3d/k3s ship it; elsewhere rancher/local-path-provisioner's deploy manifest"),
    "ebs": ("Amazon EBS CSI driver", _csi("ebs.csi.aws.com"), "the EKS add-on for the EBS CSI driver"),
    "gce-pd": ("Compute Engine persistent disk CSI driver", _csi("pd.csi.storage.gke.io"),
               "GKE's persistent disk CSI driver add-on"),
    "azure-disk": ("Azure Disk CSI driver", _csi("disk.csi.azure.com"), "AKS's Azure Disk CSI driver"),
}


#: How each cluster kind gets NetworkPolicy enforced, and how to check it: (name, check, install).
#: Every platform namespace isolates with NetworkPolicies (components/namespace.py), and the
#: unmeshed workloads (Katib's and the Model Registry's databases, the KFP profile controller,
#: the artifact store) rely on them alone, so a CNI that ignores them leaves those open.
#: - EKS: the VPC CNI enforces them only with the add-on's ``enableNetworkPolicy: "true"``, which
#:   runs the network policy agent (container ``aws-eks-nodeagent`` of ``aws-node``) with
#:   ``--enable-network-policy=true`` (aws/amazon-vpc-cni-k8s docs/network-policy-faq.md: "network
#:   policies are not enabled by default"; release v1.14.0 notes for the container).
#: - GKE: network policy enforcement (Calico) or GKE Dataplane V2 (``ADVANCED_DATAPATH``).
#: - AKS: a network policy engine chosen at creation (azure, calico or cilium), ``none`` enforces nothing.
#: - local (kind, k3d): kind's kindnet enforces NetworkPolicy since kind v0.24; k3s runs its
#:   embedded kube-router policy controller unless ``--disable-network-policy``.
#: - selfhosted: a CNI that implements NetworkPolicy (Calico, Cilium, Antrea, kube-router).
NETWORK_POLICY: dict[str, tuple[str, str, str]] = {
    "eks": ("NetworkPolicy enforcement (Amazon VPC CNI network policy agent)",
            "kubectl get daemonset aws-node -n kube-system -o "
            "jsonpath='{.spec.template.spec.containers[?(@.name==\"aws-eks-nodeagent\")].args}' "
            "| grep -q -- '--enable-network-policy=true'",
            "the vpc-cni add-on with configuration values {\"enableNetworkPolicy\": \"true\"} (VPC CNI 1.14 or later)"),
    "gke": ("NetworkPolicy enforcement (GKE network policy or Dataplane V2)",
            "gcloud container clusters describe CLUSTER --location LOCATION "
            "--format='value(networkPolicy.enabled,networkConfig.datapathProvider)' | grep -Eq 'True|ADVANCED_DATAPATH'",
            "gcloud container clusters update CLUSTER --enable-network-policy (or create it with "
            "--enable-dataplane-v2)"),
    "aks": ("NetworkPolicy enforcement (Azure network policy engine)",
            "az aks show -g RESOURCE_GROUP -n CLUSTER --query networkProfile.networkPolicy -o tsv "
            "| grep -Eqx 'azure|calico|cilium'",
            "az aks update --network-policy azure|calico|cilium (or create the cluster with --network-policy)"),
    "local": ("NetworkPolicy enforcement (kind's kindnet v0.24+, or k3s' kube-router)",
              "kubectl get pods -n kube-system -o name | grep -Eq 'kindnet|calico|cilium' "
              "|| kubectl get nodes -o jsonpath='{.items[0].status.nodeInfo.kubeletVersion}' | grep -q k3s",
              "kind v0.24 or later, or k3d/k3s without --disable-network-policy"),
    "selfhosted": ("NetworkPolicy enforcement (a CNI that implements it)",
                   "kubectl get pods -A -o name | grep -Eq 'calico-node|cilium|antrea-agent|kube-router'",
                   "a CNI that enforces NetworkPolicy: Calico, Cilium, Antrea or kube-router"),
}


#: The Istio CNI node agent's DaemonSet: ``istio-cni-node``, labelled ``k8s-app: istio-cni-node``
#: (istio/istio manifests/charts/istio-cni/templates/daemonset.yaml at 1.17.3 and 1.29.0;
#: ../shared/upstream/charts/cni-*). istiod's injector must know it, or it still injects
#: istio-init: its values in ConfigMap ``istio-sidecar-injector`` carry ``istio_cni.enabled``
#: (1.17) or ``pilot.cni.enabled`` (1.29) (the injection template's conditions).
_CNI_CHECK = ("kubectl get daemonset -A -l k8s-app=istio-cni-node -o name | grep -q . && "
              "kubectl get configmap istio-sidecar-injector -n istio-system -o jsonpath='{.data.values}' "
              "| tr -d ' \\n' | grep -Eq '\"(istio_cni|cni)\":\\{[^}]*\"enabled\":true'")
#: Ambient mode's node proxy: DaemonSet ``ztunnel`` (istio/istio manifests/charts/ztunnel).
_AMBIENT_CHECK = "kubectl get daemonset ztunnel -n istio-system && " + _CNI_CHECK


#: GKE: profile namespaces leave 169.254.169.254 open (components/namespace.py) because Workload
#: Identity Federation for GKE answers there with the pod's own identity. That holds only on nodes
#: running the GKE metadata server: every node pool's ``workloadMetadataConfig.mode`` must be
#: ``GKE_METADATA``, which needs the cluster's workload pool (Google Cloud, GKE API reference
#: ``WorkloadMetadataConfig.Mode``: "Run the GKE Metadata Server on this node ... can only be
#: enabled if Workload Identity is enabled at the cluster level"; ``GCE_METADATA`` exposes the
#: node's own metadata, its service account included). mlplane's own pools set it
#: (components/accelerators/gke.py); the existing cluster's pools are the prerequisite.
GKE_METADATA_SERVER = "the GKE metadata server on every node pool (Workload Identity Federation for GKE)"


def _gke_metadata_prerequisite(config: StackConfig) -> list[Prerequisite]:
    cluster = config.cluster
    if cluster.kind != "gke" or config.kubeflow is None:
        return []
    where = f"{cluster.name} --location {cluster.location} --project {cluster.project}"
    return [Prerequisite(
        GKE_METADATA_SERVER,
        "profile namespaces' egress to 169.254.169.254 (open on GKE: pods must get their own identity there, "
        "never the node's)",
        f"gcloud container clusters describe {where} --format='value(workloadIdentityConfig.workloadPool)' "
        f"| grep -q . && ! gcloud container node-pools list --cluster {where} "
        "--format='value(config.workloadMetadataConfig.mode)' | grep -vqx GKE_METADATA",
        f"gcloud container clusters update {cluster.name} --workload-pool={cluster.project}.svc.id.goog, then "
        "gcloud container node-pools update POOL --workload-metadata=GKE_METADATA for each pool")]


def _mesh_prerequisites(config: StackConfig) -> list[Prerequisite]:
    """An existing Istio's traffic redirection, as the stack states it (components.istio.traffic_redirection)."""
    kubeflow = config.kubeflow
    istio = kubeflow.components.istio if kubeflow is not None else None
    if istio is None or not istio.existing or istio.traffic_redirection is None:
        return []
    needed_by = (f"mlplane:kubeflow.components.istio.traffic_redirection ({istio.traffic_redirection}: meshed pods "
                 "without istio-init, which the namespaces' Pod Security refuses)")
    if istio.traffic_redirection == "ambient":
        return [Prerequisite("Istio ambient mode (ztunnel and the Istio CNI node agent)", needed_by, _AMBIENT_CHECK,
                             "istioctl install --set profile=ambient, or the ztunnel and cni charts of istio/istio")]
    return [Prerequisite("Istio CNI node agent, enabled in istiod's injector", needed_by, _CNI_CHECK,
                         "the cni chart of istio/istio, and istiod with values.istio_cni.enabled (1.17) or "
                         "values.pilot.cni.enabled (1.29)")]


def _annotation_check(key: str, value: str) -> str:
    escaped = key.replace(".", "\\.")  # kubectl's JSONPath: dots inside a key are escaped
    return (f"kubectl get serviceaccount cert-manager -n cert-manager -o jsonpath='{{.metadata.annotations.{escaped}}}' "
            f"| grep -qx '{value}'")


def _certificate_prerequisites(config: StackConfig) -> list[Prerequisite]:
    """A certificate the team keeps, or the cloud identity a DNS-01 issuer acts as."""
    kubeflow = config.kubeflow
    if kubeflow is None:
        return []
    issuer = kubeflow.issuer
    if issuer.kind == "existing-secret" and issuer.secret is not None:
        from mlplane.components.platform.resolve import resolve

        namespace = resolve(kubeflow)["istio"].namespace
        return [Prerequisite(
            f"the TLS Secret {issuer.secret}", "mlplane:kubeflow.issuer (kind existing-secret: the gateway serves it)",
            f"kubectl get secret {issuer.secret} -n {namespace} -o jsonpath='{{.type}}' | grep -qx kubernetes.io/tls",
            f"kubectl create secret tls {issuer.secret} -n {namespace} --cert=fullchain.pem --key=privkey.pem "
            "(renew it before it expires: nothing in the plan does)")]
    dns = issuer.dns
    if dns is None:
        return []
    needed_by = f"mlplane:kubeflow.issuer.dns ({dns.provider}: DNS-01 as cert-manager's workload identity)"
    if dns.provider == "cloud-dns":
        member = f"{dns.project}.svc.id.goog[cert-manager/cert-manager]"
        return [Prerequisite(
            f"Google service account {dns.service_account} for Cloud DNS", needed_by,
            _annotation_check("iam.gke.io/gcp-service-account", dns.service_account) + " && gcloud iam "
            f"service-accounts get-iam-policy {dns.service_account} --format=json | grep -qF '{member}'",
            f"roles/dns.admin for it in project {dns.project}, and roles/iam.workloadIdentityUser for "
            f"serviceAccount:{member} on it (GKE docs, Workload Identity Federation for GKE; the cluster's project "
            "holds the workload pool)")]
    if dns.provider == "route53":
        role = dns.role_arn.rsplit("/", 1)[1]
        return [Prerequisite(
            f"IAM role {role} for Route 53", needed_by,
            _annotation_check("eks.amazonaws.com/role-arn", dns.role_arn) + f" && aws iam get-role --role-name "
            f"{role} --query Role.AssumeRolePolicyDocument | grep -q system:serviceaccount:cert-manager:cert-manager",
            "an IAM role trusting the cluster's OIDC provider for system:serviceaccount:cert-manager:cert-manager, "
            "allowed route53:GetChange, ChangeResourceRecordSets and ListHostedZonesByName (cert-manager docs, "
            "Route53, IAM role for service accounts)")]
    return [Prerequisite(
        f"managed identity {dns.client_id} for Azure DNS", needed_by,
        _annotation_check("azure.workload.identity/client-id", dns.client_id) + " && az identity list --query "
        f"\"[?clientId=='{dns.client_id}'].id\" -o tsv | grep -q .",
        f"a user-assigned identity with DNS Zone Contributor on zone {dns.zone}, a federated credential for "
        "system:serviceaccount:cert-manager:cert-manager on the cluster's OIDC issuer, and the cluster's workload "
        "identity add-on (cert-manager docs, AzureDNS, workload identity)")]


def prerequisites(config: StackConfig) -> list[Prerequisite]:
    """The prerequisites of a stack, in a stable order (storage, node pools, load balancer)."""
    found: list[Prerequisite] = []
    if config.kubeflow is not None or (config.accelerators is not None and config.accelerators.pools):
        found.append(Prerequisite(
            "mlplane's Helm post-renderer", "every Helm chart of the stack (it orders their webhook-gated objects)",
            f"command -v {depends_on.COMMAND}",
            "run `pulumi` with the project's virtualenv active (`source .venv/bin/activate`): mlplane installs "
            f"`{depends_on.COMMAND}` there"))
    if config.kubeflow is not None:
        found.append(Prerequisite(
            "mlplane's kustomize plugin", "every kustomize directory of the stack (it orders their webhook-gated objects)",
            ordered_directory.PLUGIN_CHECK,
            f"`{ordered_directory.PLUGIN_INSTALL}` (with the project's virtualenv active) writes it into kustomize's "
            "plugin home"))
    storage = config.storage
    for index, cls in enumerate(storage.classes if storage is not None else ()):
        if cls.kind == "existing":
            modes = "|".join(cls.access_modes)
            found.append(Prerequisite(
                f"StorageClass {cls.name}", f"mlplane:storage.classes[{index}] (kind existing, {modes})",
                f"kubectl get storageclass {cls.name}",
                "your cluster's storage driver and its StorageClass (not created by mlplane); the access modes, "
                "attachment and expansion the stack states for it must be the driver's"))
            continue
        name, check, install = _CLASS_DRIVERS[cls.kind]
        found.append(Prerequisite(name, f"mlplane:storage.classes[{index}] ({cls.name}, provisioner "
                                  f"{cls.provisioner})", check, install))
    pools = config.accelerators.pools if config.accelerators is not None else ()
    if config.cluster.kind in ("local", "selfhosted"):
        found.extend(node_taint_prerequisites(pools))
    if config.cluster.kind == "eks" and pools:
        found.append(Prerequisite(
            "Karpenter", "mlplane:accelerators.pools (Karpenter NodePools and EC2NodeClasses)",
            "kubectl get crd nodepools.karpenter.sh ec2nodeclasses.karpenter.k8s.aws",
            "Karpenter's Helm chart (aws/karpenter-provider-aws), with its node role"))
    kubeflow = config.kubeflow
    found.extend(default_class_prerequisites(config))
    if config.cluster.kind in NETWORK_POLICY:
        name, check, install = NETWORK_POLICY[config.cluster.kind]
        found.append(Prerequisite(name, "every namespace's NetworkPolicies (isolation of profiles and of the "
                                  "unmeshed databases, artifact store and KFP profile controller)", check, install))
    found.extend(_gke_metadata_prerequisite(config))
    if kubeflow is not None and kubeflow.gateway.mode == "load-balancer":
        if config.cluster.kind == "eks":
            found.append(Prerequisite(
                "AWS Load Balancer Controller", "mlplane:kubeflow.gateway (mode load-balancer: an NLB)",
                "kubectl get crd targetgroupbindings.elbv2.k8s.aws",
                "the aws-load-balancer-controller Helm chart (kubernetes-sigs/aws-load-balancer-controller)"))
        elif config.cluster.kind in ("local", "selfhosted"):
            found.append(Prerequisite(
                "a load balancer implementation", "mlplane:kubeflow.gateway (mode load-balancer)",
                "kubectl get svc istio-ingressgateway -n istio-system  # EXTERNAL-IP must not stay <pending>",
                "a load balancer implementation for bare-metal clusters (MetalLB, for example)"))
    found += _mesh_prerequisites(config)
    found += _certificate_prerequisites(config)
    # One line per driver, however many classes need it.
    unique: dict[tuple[str, str], Prerequisite] = {}
    for item in found:
        if (item.name, item.check) in unique:
            first = unique[(item.name, item.check)]
            unique[(item.name, item.check)] = Prerequisite(first.name, f"{first.needed_by}; {item.needed_by}",
                                                           first.check, first.install)
        else:
            unique[(item.name, item.check)] = item
    return list(unique.values())


#: Succeeds only where some StorageClass carries ``storageclass.kubernetes.io/is-default-class: "true"``.
DEFAULT_CLASS_CHECK = ("kubectl get storageclass -o jsonpath='{.items[?(@.metadata.annotations."
                       "storageclass\\.kubernetes\\.io/is-default-class==\"true\")].metadata.name}' | grep -q .")


def default_class_prerequisites(config: StackConfig) -> list[Prerequisite]:
    """A default StorageClass, where Kubeflow components with claims that name none are installed
    and the stack marks none of its classes ``default``."""
    kubeflow = config.kubeflow
    if kubeflow is None:
        return []
    components = resolve(kubeflow)
    holders = [key for key in DATA_COMPONENTS if components[key].enabled]
    classes = config.storage.classes if config.storage is not None else ()
    if not holders or any(cls.default for cls in classes):
        return []
    return [Prerequisite(
        "a default StorageClass",
        "mlplane:kubeflow.components (" + ", ".join(f"{key}: {DATA_COMPONENTS[key]}" for key in holders)
        + "; their claims name no class)",
        DEFAULT_CLASS_CHECK,
        "mark one class default (`default: true` on a class in mlplane:storage.classes, or "
        "`kubectl annotate storageclass NAME storageclass.kubernetes.io/is-default-class=true`)")]


def _taint_text(taint: Taint) -> str:
    return f"{taint.key}={taint.value}:{taint.effect}" if taint.value else f"{taint.key}:{taint.effect}"


def node_taint_prerequisites(pools: Sequence[PoolSpec]) -> list[Prerequisite]:
    """One prerequisite per named node of a self-hosted pool: the pool's taints, set and checked.

    The check lists the node's taints one a line as ``key=value:effect`` (``key:effect``
    without a value) and requires each of the pool's; the install is the ``kubectl
    taint`` command that sets them.
    """
    found = []
    for index, pool in enumerate(pools):
        if pool.nodes is None or not pool.effective_taints:
            continue
        wanted = [_taint_text(t) for t in pool.effective_taints]
        if pool.nodes.labels:
            # Selected by label: mlplane cannot taint them (components/accelerators/spec.py), the
            # cluster's owner must; every node the selector finds is checked.
            selector = ",".join(f"{k}={v}" for k, v in sorted(pool.nodes.labels.items()))
            listing = (f"kubectl get nodes -l {selector} -o go-template='" + "{{range .items}}{{range .spec.taints}}"
                       + "{{.key}}{{if .value}}={{.value}}{{end}}:{{.effect}} {{end}}" + '{{"\\n"}}{{end}}' + "'")
            check = f"{listing} | " + " | ".join(f"grep -F '{text}'" for text in wanted) \
                + f" | wc -l | grep -qx \"$(kubectl get nodes -l {selector} -o name | wc -l)\""
            found.append(Prerequisite(
                f"taints of nodes labelled {selector}",
                f"mlplane:accelerators.pools[{index}].nodes.labels ({pool.name}: its work tolerates them, other "
                "work is kept off)",
                check, f"kubectl taint nodes -l {selector} {' '.join(wanted)} --overwrite"))
        for node in pool.nodes.names:
            listing = (f"kubectl get node {node} -o go-template='" + "{{range .spec.taints}}{{.key}}"
                       + "{{if .value}}={{.value}}{{end}}:{{.effect}}" + '{{"\\n"}}{{end}}' + "'")
            check = " && ".join(f"{listing} | grep -qxF '{text}'" for text in wanted)
            found.append(Prerequisite(
                f"taints of node {node}",
                f"mlplane:accelerators.pools[{index}].nodes.names ({pool.name}: its work tolerates them, other "
                "work is kept off)",
                check, f"kubectl taint node {node} {' '.join(wanted)} --overwrite"))
    return found


def format_prerequisites(items: list[Prerequisite], stack: str) -> str:
    """The preview's section on prerequisites (empty text when there are none)."""
    if not items:
        return ""
    lines = [f"Prerequisites of stack {stack} (not installed by mlplane; check each before `pulumi up`):"]
    for item in items:
        lines.append(f"  {item.name}: for {item.needed_by}")
        lines.append(f"    check:   {item.check}")
        lines.append(f"    install: {item.install}")
    return "\n".join(lines) + "\n"
