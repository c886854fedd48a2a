"""KFP from notebooks: a profile's opt-in PodDefault that mounts a token the KFP API accepts.

In multi-user mode the KFP API server authenticates a caller in the cluster by a
ServiceAccount token whose audience is ``pipelines.kubeflow.org`` (``TOKEN_REVIEW_AUDIENCE``
of ``ml-pipeline``); the ServiceAccount's default API token (what ``kubernetes_api: true``
mounts) has the API server's audience and is refused. Upstream's recipe is one PodDefault
per profile, ``access-ml-pipeline``, which the admission webhook applies to pods labelled
``access-ml-pipeline: "true"`` (kubeflow/manifests 26.03 ``README.md``, "Access Kubeflow
Pipelines from Jupyter notebook"; the same shape in kubeflow/website's KFP multi-user
docs): a projected token (audience ``pipelines.kubeflow.org``, 7200 s, path ``token``)
mounted at ``/var/run/secrets/kubeflow/pipelines`` and ``KF_PIPELINES_SA_TOKEN_PATH``,
which ``kfp.Client()`` reads. A profile with ``pipelines_access: true`` gets that
PodDefault, and mlplane labels the profile's notebooks so it applies to them (the notebook
controller copies a Notebook's labels to its pod template: kubeflow/kubeflow
``components/notebook-controller/controllers/notebook_controller.go``, ``generateStatefulSet``);
in the Jupyter web app it is the "Allow access to Kubeflow Pipelines" configuration.
"""

from __future__ import annotations

from typing import Any

import pulumi

from mlplane.components.platform.install import custom_resource

POD_DEFAULT_API = "kubeflow.org/v1alpha1"
#: The PodDefault's name and its selector label (upstream's).
ACCESS_LABEL = "access-ml-pipeline"
AUDIENCE = "pipelines.kubeflow.org"
TOKEN_DIR = "/var/run/secrets/kubeflow/pipelines"
TOKEN_ENV = "KF_PIPELINES_SA_TOKEN_PATH"
_VOLUME = "volume-kf-pipeline-token"


def pod_default_spec() -> dict[str, Any]:
    """The ``access-ml-pipeline`` PodDefault's spec, as upstream documents it."""
    return {
        "desc": "Allow access to Kubeflow Pipelines",
        "selector": {"matchLabels": {ACCESS_LABEL: "true"}},
        "volumes": [{"name": _VOLUME, "projected": {"sources": [{"serviceAccountToken": {
            "path": "token", "expirationSeconds": 7200, "audience": AUDIENCE}}]}}],
        "volumeMounts": [{"mountPath": TOKEN_DIR, "name": _VOLUME, "readOnly": True}],
        "env": [{"name": TOKEN_ENV, "value": f"{TOKEN_DIR}/token"}],
    }


def declare_pipelines_access(name: str, profiles: tuple[str, ...], opts: pulumi.ResourceOptions
                             ) -> list[pulumi.Resource]:
    """The ``access-ml-pipeline`` PodDefault in each of ``profiles``' namespaces."""
    return [custom_resource(f"{name}-{profile}-pipelines-access", POD_DEFAULT_API, "PodDefault",
                            {"name": ACCESS_LABEL, "namespace": profile}, pod_default_spec(), opts)
            for profile in profiles]
