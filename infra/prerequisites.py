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

The taints of a self-hosted pool's named nodes are a prerequisite too, not a patch:
``spec.taints`` is an atomic list under server-side apply, so a patch would either drop
the taints others set or conflict with them (components/accelerators/selfhosted.py).
Each node's check greps the pool's taints out of the live node; ``kubectl taint
--overwrite`` sets one taint and keeps every other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlplane.components import depends_on
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


def prerequisites(config: StackConfig) -> list[Prerequisite]:
    """The prerequisites of a stack, in a stable order (storage, node pools, load balancer)."""
    found: list[Prerequisite] = []
    if config.kubeflow is not None or (config.accelerators is not None and config.accelerators.pools):
        found.append(Prerequisite(
            "mlplane's Helm post-renderer", "every Helm chart of the stack (it orders their webhook-gated objects)",
            f"command -v {depends_on.COMMAND}",
            "run `pulumi` with the project's virtualenv active (`source .venv/bin/activate`): mlplane installs "
            f"`{depends_on.COMMAND}` there"))
    storage = config.storage
    for index, cls in enumerate(storage.classes if storage is not None else ()):
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
