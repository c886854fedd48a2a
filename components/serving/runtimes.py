"""Model servers for endpoints that run without KServe: pinned images and how to start them.

With KServe, the InferenceService names the model format and KServe's own serving
runtimes start the server. Without it, mlplane runs the stock server of each format in
a Deployment: TF Serving, TorchServe, Triton (ONNX, XGBoost through its FIL backend), and
KServe's standalone Python servers for scikit-learn and Hugging Face models (they run
without the KServe controller). Every image is pinned; a stack can pin another with
``runtime_image``. The model is always mounted at :data:`MODEL_MOUNT_PATH`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlplane.components.serving.spec import MODEL_MOUNT_PATH, ModelFormat

#: Port of the REST/HTTP API of every stock server, as KServe's runtimes configure it.
HTTP_PORT = 8080
#: Port of the gRPC API of servers that have one (TF Serving, Triton), as KServe uses it.
GRPC_PORT = 9000

#: Downloads a model from an object store (gs://, s3://, https://) into a volume.
STORAGE_INITIALIZER_IMAGE = "kserve/storage-initializer:v0.16.0"


@dataclass(frozen=True)
class Runtime:
    """A stock model server for one format.

    Attributes:
        server: Human name, for docs and messages.
        image: Pinned image for CPU nodes.
        gpu_image: Pinned image for accelerator nodes (None: the same image).
        command: Entrypoint; ``{model}`` stands for the model name.
        args: Arguments; ``{model}`` and ``{path}`` are filled in.
        readiness_path: HTTP path that answers 200 once the model is loaded.
        grpc: Whether the server also speaks gRPC on :data:`GRPC_PORT`.
    """

    server: str
    image: str
    gpu_image: str | None
    command: tuple[str, ...]
    args: tuple[str, ...]
    readiness_path: str
    grpc: bool

    def image_for(self, accelerated: bool) -> str:
        """The image to run, on accelerator nodes or not."""
        return (self.gpu_image or self.image) if accelerated else self.image

    def render_args(self, model: str) -> list[str]:
        """The arguments with the model name and path filled in."""
        return [a.format(model=model, path=MODEL_MOUNT_PATH) for a in self.args]

    def render_readiness_path(self, model: str) -> str:
        """The readiness path with the model name filled in."""
        return self.readiness_path.format(model=model)


_TRITON = Runtime(
    server="Triton Inference Server",
    image="nvcr.io/nvidia/tritonserver:24.08-py3",
    gpu_image=None,
    command=("tritonserver",),
    args=("--model-repository={path}", f"--http-port={HTTP_PORT}", f"--grpc-port={GRPC_PORT}",
          "--allow-metrics=false"),
    readiness_path="/v2/health/ready",
    grpc=True,
)


def _kserve_server(server: str, image: str) -> Runtime:
    """KServe's standalone Python model servers (they run without the KServe controller)."""
    return Runtime(
        server=server, image=image, gpu_image=None, command=(),
        args=("--model_name={model}", "--model_dir={path}", f"--http_port={HTTP_PORT}"),
        readiness_path="/v1/models/{model}", grpc=False,
    )


RUNTIMES: dict[str, Runtime] = {
    "tensorflow": Runtime(
        server="TensorFlow Serving",
        image="tensorflow/serving:2.14.1",
        gpu_image="tensorflow/serving:2.14.1-gpu",
        command=("tensorflow_model_server",),
        args=("--model_name={model}", "--model_base_path={path}", f"--port={GRPC_PORT}",
              f"--rest_api_port={HTTP_PORT}"),
        readiness_path="/v1/models/{model}",
        grpc=True,
    ),
    "pytorch": Runtime(
        server="TorchServe",
        image="pytorch/torchserve:0.11.0-cpu",
        gpu_image="pytorch/torchserve:0.11.0-gpu",
        command=("torchserve",),
        args=("--start", "--foreground", "--disable-token-auth", "--model-store={path}/model-store",
              "--ts-config={path}/config/config.properties"),
        readiness_path="/ping",
        grpc=False,
    ),
    "onnx": _TRITON,
    "xgboost": _TRITON,
    "sklearn": _kserve_server("KServe scikit-learn server", "kserve/sklearnserver:v0.16.0"),
    "huggingface": _kserve_server("KServe Hugging Face server", "kserve/huggingfaceserver:v0.16.0"),
}


def runtime_for(model_format: ModelFormat) -> Runtime:
    """The stock server of a model format."""
    return RUNTIMES[model_format]
