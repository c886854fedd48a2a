"""What a serving endpoint or web app is, as plain data: models shared by config and components.

The stack file's ``mlplane:serving`` section and the :class:`ServingEndpoint` /
:class:`WebApp` components use these models, so the stack file's schema and the
components' args cannot drift apart. Every check that needs only the value itself
(formats, percentages, replica ranges, host names, pinned images) happens here; checks
that need other sections (the artifact store's scheme, KServe's mode) are pure
functions in :mod:`components.serving.checks`, run by the config rules and again by
the components.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.core.naming import check_dns_label, is_dns_subdomain
from mlplane.components.pod_security import check_image

#: Model formats an endpoint can serve (KServe's ``modelFormat.name`` values).
MODEL_FORMATS: tuple[str, ...] = ("tensorflow", "pytorch", "sklearn", "xgboost", "onnx", "huggingface")

ModelFormat = Literal["tensorflow", "pytorch", "sklearn", "xgboost", "onnx", "huggingface"]

#: How requests reach the model server: HTTP/REST or gRPC (cleartext HTTP/2 in the mesh).
Protocol = Literal["http", "grpc"]

#: Where an endpoint runs: a KServe InferenceService (Knative revisions, or KServe's raw
#: Deployments), or mlplane's own Deployment, Service and HorizontalPodAutoscaler.
ServingBackend = Literal["kserve-serverless", "kserve-raw", "deployment"]

#: Mount path of the model inside the serving container (KServe's convention too).
MODEL_MOUNT_PATH = "/mnt/models"

#: Label carrying the model version on every object of an endpoint.
MODEL_VERSION_LABEL = "mlplane.dev/model-version"

_URI_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+-.")


def check_host(value: str) -> str:
    """Validate a host name for the ingress gateway: a fully qualified DNS name.

    Raises:
        ValueError: Not a lower-case DNS name with at least one dot (no scheme, no
            port, no path, no wildcard).
    """
    if not isinstance(value, str) or not is_dns_subdomain(value) or "." not in value:
        raise ValueError("must be a DNS name like mnist.ml.example.com (lower case, no scheme, port or path)")
    return value


def uri_scheme(uri: str) -> str | None:
    """The scheme of a model URI (``gs`` for ``gs://bucket/model``), or None without one."""
    scheme, separator, rest = uri.partition("://")
    if not separator or not scheme or not rest or not set(scheme.lower()) <= _URI_SCHEME_CHARS:
        return None
    return scheme.lower()


def _check_uri(value: str) -> str:
    if uri_scheme(value) is None:
        raise ValueError("must be a URI with a scheme and a location, like gs://bucket/models/mnist")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain white space")
    return value


def _check_relative_path(value: str) -> str:
    if value.startswith("/") or any(part == ".." for part in value.split("/")):
        raise ValueError("must be a path inside the volume: relative, without '..'")
    return value


def _check_container_path(value: str) -> str:
    if not value.startswith("/") or any(part == ".." for part in value.split("/")):
        raise ValueError("must be an absolute path in the container, without '..'")
    return value


def _check_label_value(value: str) -> str:
    # Kubernetes label values: at most 63 characters, alphanumeric at both ends.
    import re

    if len(value) > 63 or not re.match(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$", value):
        raise ValueError("must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', "
                         "starting and ending with a letter or digit")
    return value


Host = Annotated[str, AfterValidator(check_host)]
DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
PinnedImage = Annotated[str, AfterValidator(check_image)]
ModelUri = Annotated[str, AfterValidator(_check_uri)]
LabelValue = Annotated[str, AfterValidator(_check_label_value)]
ContainerPath = Annotated[str, AfterValidator(_check_container_path)]


class ModelVolume(ArgsModel):
    """A model on a PersistentVolumeClaim in the endpoint's namespace."""

    claim: DnsLabel = Field(description="Name of the PersistentVolumeClaim that holds the model.")
    path: Annotated[str, AfterValidator(_check_relative_path)] = Field(
        "", description="Folder of the model inside the volume (relative). Default: the volume's root."
    )


class ModelSource(ArgsModel):
    """A trained model: its format and where it is stored (artifact store URI or a volume)."""

    format: ModelFormat = Field(
        description="Model format: " + ", ".join(MODEL_FORMATS) + " (KServe's modelFormat names)."
    )
    uri: ModelUri | None = Field(
        None,
        description="Location in the stack's artifact store, e.g. gs://bucket/models/mnist or "
                    "s3://mlplane-artifacts/models/mnist; its scheme must be the artifact store's.",
    )
    volume: ModelVolume | None = Field(None, description="A PersistentVolumeClaim holding the model instead of a URI.")
    version: LabelValue | None = Field(
        None,
        description="Model version, recorded as the label mlplane.dev/model-version (pipelines set it from "
                    "the training step's inputs, so a retrain rolls the endpoint).",
    )

    @model_validator(mode="after")
    def _one_location(self) -> "ModelSource":
        if (self.uri is None) == (self.volume is None):
            raise ValueError("give exactly one of uri (the artifact store) or volume (a PersistentVolumeClaim)")
        return self

    @property
    def storage_uri(self) -> str:
        """The location as KServe's ``storageUri`` (``pvc://claim/path`` for volumes)."""
        if self.uri is not None:
            return self.uri
        assert self.volume is not None
        return f"pvc://{self.volume.claim}/{self.volume.path}".rstrip("/")


class ModelServer(ArgsModel):
    """A custom model server container (instead of a model format and a stock runtime)."""

    image: PinnedImage = Field(description="Container image, pinned to a version tag or a digest.")
    command: tuple[str, ...] = Field((), description="Entrypoint; empty keeps the image's.")
    args: tuple[str, ...] = Field((), description="Arguments.")
    port: int = Field(8080, ge=1024, le=65535, description="Port the server listens on (unprivileged).")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables.")
    readiness_path: str | None = Field(
        None, description="HTTP path that answers 200 when the server is ready (e.g. /ready); none: TCP check."
    )


class Replicas(ArgsModel):
    """How many copies of the model server run: a range the autoscaler moves in."""

    min: int = Field(1, ge=0, le=1000, description="Fewest replicas; 0 scales to zero when idle (KServe serverless only).")
    max: int = Field(1, ge=1, le=1000, description="Most replicas under load.")

    @model_validator(mode="after")
    def _ordered(self) -> "Replicas":
        if self.min > self.max:
            raise ValueError(f"min replicas ({self.min}) is above max replicas ({self.max})")
        return self


class Backend(ArgsModel):
    """How a web app's configuration names its serving endpoint, by reference."""

    endpoint: DnsLabel = Field(description="Name of a serving endpoint of this stack (mlplane:serving.endpoints).")
    env: dict[str, Literal["url", "host", "port", "model"]] = Field(
        default_factory=lambda: {"MODEL_SERVER_URL": "url", "MODEL_SERVER_HOST": "host",
                                 "MODEL_SERVER_PORT": "port", "MODEL_NAME": "model"},
        description="Environment variables set from the endpoint's outputs: name -> url, host, port or model.",
    )
    link_query: dict[str, Literal["url", "host", "port", "model"]] = Field(
        default_factory=dict,
        description="Query parameters added to the app's published URL, filled from the endpoint "
                    "(the MNIST web UI reads its server from ?name=&addr=&port=).",
    )


def model_or_container_problem(model: Any, container: Any) -> str | None:
    """Why an endpoint's model/container pair is invalid, or None (exactly one is needed)."""
    if (model is None) == (container is None):
        return "give exactly one of model (a format and its location) or container (a custom model server)"
    return None
