"""What each backend's generated stack file says (``mlplane init --backend``).

Each backend is one stack, named after it, with the smallest platform that renders on that
kind of cluster: the cluster section, storage with an artifact store (Kubeflow Pipelines
keeps its artifacts there), Kubeflow at the default release train with one profile, a
login, and the project's example pipeline. Values that name the team's own cloud
resources are placeholders, listed in ``replace`` so the file says which to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlplane.components.platform.releases import DEFAULT_RELEASE

#: The example pipeline ``mlplane init`` writes (templates/pipelines/hello.py.tmpl).
EXAMPLE_PIPELINE = {"name": "hello", "source": "pipelines.hello:hello_pipeline", "params": {"greeting": "hello"}}


@dataclass(frozen=True)
class Backend:
    """One ``--backend`` choice.

    Attributes:
        name: The backend's name, which is also the stack's (``Pulumi.<name>.yaml``).
        title: One line for the stack file's head.
        extra: mlplane's pip extra with the cloud SDK the stack program needs ("" for none).
        config: The stack file's ``config:`` mapping, mlplane's sections by their YAML keys.
        replace: Key paths whose values are placeholders for the team's own resources.
    """

    name: str
    title: str
    extra: str
    config: dict[str, Any]
    replace: tuple[str, ...] = field(default=())


USER = "user@example.com"
HOST = "kubeflow.example.com"


def _config(cluster: dict[str, Any], classes: list[dict[str, Any]], artifacts: dict[str, Any],
            platform: dict[str, Any], generate_password: bool = False) -> dict[str, Any]:
    """A stack's ``config:``: the cluster and storage given, Kubeflow with one profile, a login, the example."""
    user = {"email": USER, **({"generate_password": True} if generate_password else {})}
    return {
        "mlplane:cluster": cluster,
        "mlplane:storage": {"classes": classes, "artifacts": artifacts},
        "mlplane:kubeflow": {"release": DEFAULT_RELEASE, **platform,
                             "profiles": [{"name": "team-example", "owner": USER}]},
        "mlplane:auth": {"dex": {"users": [user]}},
        "mlplane:pipelines": [EXAMPLE_PIPELINE],
    }


#: A cloud's platform: behind the host name, on the cloud's load balancer.
_CLOUD_PLATFORM = {"ingress": {"host": HOST}, "gateway": {"mode": "load-balancer"}}
_HOST_KEY = "mlplane:kubeflow.ingress.host"

_LOCAL = Backend(
    name="dev",
    title="A local cluster on this machine (kind or k3d), CPU only, no cloud and no credentials. "
          "`kind create cluster --name mlplane` gives the `kind-mlplane` context.",
    extra="",
    config=_config(
        {"kind": "local", "context": "kind-mlplane"}, [{"name": "local", "kind": "local-path"}],
        {"kind": "in-cluster", "storage_class": "local", "size": "5Gi"},
        # Sized for a laptop: the heavy optional components are off.
        # Plain HTTP on purpose: kind/k3d map the node ports to localhost only (the dev stack's own
        # reason; an exposed gateway needs TLS or this explicit opt-in).
        {"gateway": {"mode": "node-port", "node_ports": {"http": 30080, "https": 30443}},
         "ingress": {"cleartext": True},
         "components": {"knative_serving": {"enabled": False}, "kserve": {"deployment_mode": "raw"},
                        "katib": {"enabled": False}, "training": {"enabled": False},
                        "tensorboards": {"enabled": False}, "model_registry": {"enabled": False}}},
        generate_password=True),
)

_SELFHOSTED = Backend(
    name="selfhosted",
    title="An existing cluster the team runs itself (bare metal, VMs, on premises).",
    extra="",
    config=_config({"kind": "selfhosted", "context": "my-cluster-admin"},
                   [{"name": "local-nvme", "kind": "local-path"}],
                   {"kind": "in-cluster", "storage_class": "local-nvme", "size": "100Gi"}, {"ingress": {"host": HOST}}),
    replace=("mlplane:cluster.context", _HOST_KEY),
)

_GKE = Backend(
    name="gke",
    title="An existing GKE cluster; mlplane adds storage and the platform to it.",
    extra="gcp",
    config=_config({"kind": "gke", "project": "my-gcp-project", "location": "europe-west4", "name": "ml-platform"},
                   [{"name": "balanced", "kind": "gce-pd"}],
                   {"kind": "gcs", "bucket": "my-gcp-project-ml-artifacts", "location": "EUROPE-WEST4"},
                   _CLOUD_PLATFORM),
    replace=("mlplane:cluster.project", "mlplane:cluster.location", "mlplane:cluster.name",
             "mlplane:storage.artifacts.bucket", _HOST_KEY),
)

_EKS = Backend(
    name="eks",
    title="An existing EKS cluster; mlplane adds storage and the platform to it.",
    extra="aws",
    config=_config({"kind": "eks", "region": "eu-west-1", "name": "ml-platform"}, [{"name": "gp3", "kind": "ebs"}],
                   # 123456789012 is AWS's documented example account id.
                   {"kind": "s3", "bucket": "my-ml-artifacts",
                    "oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/"
                                         "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"},
                   _CLOUD_PLATFORM),
    replace=("mlplane:cluster.region", "mlplane:cluster.name", "mlplane:storage.artifacts.bucket",
             "mlplane:storage.artifacts.oidc_provider_arn", _HOST_KEY),
)

_AKS = Backend(
    name="aks",
    title="An existing AKS cluster; mlplane adds storage and the platform to it.",
    extra="azure",
    config=_config({"kind": "aks", "resource_group": "ml-platform-rg", "name": "ml-platform"},
                   [{"name": "premium", "kind": "azure-disk"}],
                   {"kind": "azure-blob", "storage_account": "mymlartifacts", "location": "westeurope",
                    "subscription_id": "00000000-0000-0000-0000-000000000000",
                    "oidc_issuer_url": "https://westeurope.oic.prod-aks.azure.com/"
                                       "00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/"},
                   _CLOUD_PLATFORM),
    replace=("mlplane:cluster.resource_group", "mlplane:cluster.name", "mlplane:storage.artifacts.storage_account",
             "mlplane:storage.artifacts.location", "mlplane:storage.artifacts.subscription_id",
             "mlplane:storage.artifacts.oidc_issuer_url", _HOST_KEY),
)

#: Every backend by name, in the order ``--backend`` lists them.
BACKENDS: dict[str, Backend] = {b.name: b for b in (_LOCAL, _SELFHOSTED, _GKE, _EKS, _AKS)}
#: The backend (and stack) ``mlplane init`` writes without ``--backend``.
DEFAULT_BACKEND = "dev"
