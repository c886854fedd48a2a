"""The MNIST pipeline, native: train, then serve the model, then a web UI in front of it.

A rewrite of the user's KFP v1 pipeline (``pipelines/seed/mnist_pipeline.py``) with the
same parameters. Where the seed deployed TF Serving and a LoadBalancer from inside
containers, this declares a serving endpoint and a web app, reviewed and secured like
the rest of the plan. Storage follows the stack: on GKE the model is exported to the
artifact store (GCS, workload identity); on self-hosted and local clusters to the
stack's ``models`` volume (or the claim ``pvc_name`` names), as the seed's on-prem
branch did.

The export path carries the training step's version, so a change to ``train_steps``
retrains into a new folder and rolls the endpoint to it; the web UI stays as it is.
"""

from __future__ import annotations

from mlplane.components.pipeline.spec import (
    ContainerStepSpec,
    PipelineSpec,
    ServeStepSpec,
    WebAppStepSpec,
    version_placeholder,
)
from mlplane.core.naming import k8s_name
from mlplane.components.pod_security import ResourceOverrides
from mlplane.components.scheduling import AcceleratorRequest
from mlplane.components.serving.args import MAX_NAME
from mlplane.components.serving.config import EndpointConfig, WebAppConfig
from mlplane.components.serving.spec import Backend, ModelSource, ModelVolume
from mlplane.pipelines.context import PipelineContext
from mlplane.pipelines.native import pipeline

TRAIN_IMAGE = "gcr.io/kubeflow-examples/mnist/model:v20190304-v0.2-176-g15d997b"
WEB_UI_IMAGE = "gcr.io/kubeflow-examples/mnist/web-ui:v20190304-v0.2-176-g15d997b-pipelines"
MODEL_VOLUME = "models"
MOUNT = "/mnt"


@pipeline
def mnist_pipeline(
    ctx: PipelineContext,
    model_export_dir: str = "",
    train_steps: str = "200",
    learning_rate: str = "0.01",
    batch_size: str = "100",
    pvc_name: str = "",
    serve_pool: str = "",
    serve_runtime_version: str = "",
    serve_host: str = "",
    ui_host: str = "",
    host_profiles: str = "",
    host_any_account: bool = False,
) -> PipelineSpec:
    """Train an MNIST classifier, serve it, and put the MNIST web UI in front of it.

    Args:
        ctx: The stack's facts.
        model_export_dir: Where models are exported (a URI in the artifact store, or a
            folder on the volume). Default: ``<artifact store>/mnist/export`` on cloud
            stores, ``export/mnist`` on the model volume otherwise.
        train_steps: Training steps.
        learning_rate: Learning rate.
        batch_size: Batch size.
        pvc_name: Claim holding the models on self-hosted clusters (default: the
            stack's ``models`` volume).
        serve_pool: Accelerator pool the model server runs on (default: CPU).
        serve_runtime_version: KServe runtime image tag (e.g. a GPU build of TF Serving).
        serve_host: External host of the endpoint (default: in-cluster only).
        ui_host: External host of the web UI (default: in-cluster only).
        host_profiles: Who may call ``serve_host`` and ``ui_host``: the owner and contributors
            of these profiles (comma-separated names of ``mlplane:kubeflow.profiles``). An
            exposed host needs them, or ``host_any_account``.
        host_any_account: Let every account that may log in call the hosts (explicit opt-in).

    Returns:
        The pipeline's three steps: train -> serve -> web-ui.
    """
    version = version_placeholder("train")
    if not isinstance(host_profiles, str) or not isinstance(host_any_account, bool):
        raise ValueError(f"host_profiles must be profile names separated by commas (got {host_profiles!r}) and "
                         f"host_any_account true or false (got {host_any_account!r})")
    profiles = tuple(p.strip() for p in host_profiles.split(",") if p.strip())

    def callers(host: str) -> dict[str, object]:
        # Only an exposed host says who may call it (the config refuses callers on no host).
        return {"profiles": profiles, "any_account": bool(host_any_account)} if host else {}

    # Named after the pipeline, so a stack can run several copies side by side.
    endpoint_name = k8s_name(ctx.pipeline, max_length=MAX_NAME)
    cloud = ctx.artifacts is not None and ctx.artifacts.kind != "in-cluster" and not pvc_name
    if cloud:
        base = model_export_dir or f"{ctx.artifacts.uri}/mnist/export"
        export, model = f"{base}/{version}", ModelSource(format="tensorflow", uri=f"{base}/{version}")
        storage: dict[str, object] = {"artifact_access": True}
    else:
        claim = pvc_name or _model_claim(ctx)
        folder = (model_export_dir or "export/mnist").strip("/")
        export = f"{MOUNT}/{folder}/{version}"
        model = ModelSource(format="tensorflow", volume=ModelVolume(claim=claim, path=f"{folder}/{version}"))
        storage = {
            "volumes": ({"name": "local-storage", "persistentVolumeClaim": {"claimName": claim}},),
            "volume_mounts": ({"name": "local-storage", "mountPath": MOUNT},),
        }

    train = ContainerStepSpec(
        name="train",
        image=TRAIN_IMAGE,
        args=("/opt/model.py", "--tf-export-dir", export, "--tf-train-steps", str(train_steps),
              "--tf-batch-size", str(batch_size), "--tf-learning-rate", str(learning_rate)),
        resources=ResourceOverrides(cpu_request="1", cpu_limit="2", memory_request="1Gi", memory_limit="2Gi"),
        **storage,  # type: ignore[arg-type]
    )
    serve = ServeStepSpec(
        name="serve",
        model_step="train",
        endpoint=EndpointConfig(
            name=endpoint_name,
            model=model,
            protocol="grpc",
            accelerator=AcceleratorRequest(pool=serve_pool, count=1) if serve_pool else None,
            runtime_version=serve_runtime_version or None,
            host=serve_host or None,
            **callers(serve_host),  # type: ignore[arg-type]
        ),
    )
    web_ui = WebAppStepSpec(
        name="web-ui",
        app=WebAppConfig(
            name=k8s_name(ctx.pipeline, "ui", max_length=MAX_NAME),
            image=WEB_UI_IMAGE,
            port=5000,
            # It writes its images and the MNIST test set next to its code, and answers / slowly.
            writable_paths=("/home/static/tmp", "/home/MNIST_data"),
            readiness_path=None,
            backend=Backend(endpoint=endpoint_name, link_query={"name": "model", "addr": "host", "port": "port"}),
            host=ui_host or None,
            **callers(ui_host),  # type: ignore[arg-type]
        ),
    )
    return PipelineSpec(name=ctx.pipeline, description="Train and serve MNIST, with a web UI.",
                        steps=(train, serve, web_ui))


def _model_claim(ctx: PipelineContext) -> str:
    volume = ctx.volumes.get(MODEL_VOLUME)
    if volume is None:
        raise ValueError(f"the stack has no {MODEL_VOLUME!r} volume (mlplane:storage.volumes) and no pvc_name is "
                         "given: the model needs a place to be exported to")
    return volume.claim_name


__all__ = ["mnist_pipeline"]
