"""Endpoint and web-app specs: what a stack file (or a pipeline step) says to serve.

They are component-level models so that pipeline steps can embed them; the stack
section ``mlplane:serving`` lists them (:mod:`infra.config.serving`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.components.pod_security import ResourceOverrides
from mlplane.components.scheduling import AcceleratorRequest
from mlplane.components.serving.args import MAX_NAME, grpc_problem
from mlplane.components.serving.spec import (
    Backend,
    ContainerPath,
    DnsLabel,
    Host,
    ModelServer,
    ModelSource,
    PinnedImage,
    Protocol,
    Replicas,
    model_or_container_problem,
)

__all__ = ["EndpointConfig", "Exposed", "Percent", "ServiceName", "WebAppConfig"]


def _check_percent(value: int) -> int:
    if not 0 <= value <= 100:
        raise ValueError("must be a percentage from 0 to 100")
    return value


def _check_service_name(value: str) -> str:
    if not value[:1].isalpha():
        raise ValueError("must start with a letter (KServe names are DNS-1035 labels)")
    return value


ServiceName = Annotated[DnsLabel, Field(max_length=MAX_NAME), AfterValidator(_check_service_name)]
Percent = Annotated[int, AfterValidator(_check_percent)]


class Exposed(ArgsModel):
    """What endpoints and web apps share: an optional host, login, and callers."""

    host: Host | None = Field(
        None, description="External host name through the Istio ingress gateway, with TLS from cert-manager. "
                          "Default: none (in-cluster only).",
    )
    public: bool = Field(
        False, description="Serve the host without login. Default: false (oauth2-proxy login is required).",
    )
    allow_from: tuple[DnsLabel, ...] = Field(
        (), description="Other namespaces whose pods may call it (its own namespace always may).",
    )
    users: tuple[str, ...] = Field(
        (), description="Who may call the host: these e-mail addresses (the token's email claim). With users, "
                        "groups and profiles unset: the members of the profile it runs in, if it runs in one; "
                        "else set any_account.")
    groups: tuple[str, ...] = Field(
        (), description="Who may call the host: members of these groups (the token's groups claim); each must be "
                        "declared in mlplane:auth.groups.")
    profiles: tuple[DnsLabel, ...] = Field(
        (), description="Who may call the host: the owner and contributors of these declared profiles.")
    any_account: bool = Field(
        False, description="Let every account that may log in call the host (an explicit opt-in). Default: "
                           "false: the host admits only users, groups and profiles, or the members of the "
                           "profile it runs in.")

    @model_validator(mode="after")
    def _public_needs_host(self) -> "Exposed":
        if self.public and self.host is None:
            raise ValueError("public: true applies to an exposed host; set host, or drop public")
        if (self.users or self.groups or self.profiles or self.any_account) and (self.public or self.host is None):
            raise ValueError("users, groups, profiles and any_account say who may call an exposed host behind the "
                             "login; set host (and leave public out), or drop them")
        if self.any_account and (self.users or self.groups or self.profiles):
            raise ValueError("any_account: true lets every account that may log in call the host, so users, groups "
                             "and profiles would narrow nothing; drop them, or drop any_account")
        return self

    def names_callers(self) -> bool:
        """Whether the host says who may call it (or opts into every account explicitly)."""
        return bool(self.users or self.groups or self.profiles or self.any_account)


class EndpointConfig(Exposed):
    """A model endpoint: served by KServe when the platform has it, else by a Deployment."""

    name: ServiceName = Field(description=f"Endpoint name (a DNS label starting with a letter, at most {MAX_NAME} characters).")
    namespace: DnsLabel | None = Field(None, description="Namespace. Default: the workload namespace.")
    model: ModelSource | None = Field(None, description="The model: format and location (uri or volume).")
    container: ModelServer | None = Field(None, description="A custom model server container instead of a model.")
    protocol: Protocol = Field("http", description="http (REST) or grpc (TF Serving, Triton, custom servers).")
    resources: ResourceOverrides = Field(
        default_factory=ResourceOverrides,
        description="CPU and memory of the server. Default: 500m/1Gi requested, 2/2Gi limit.",
    )
    accelerator: AcceleratorRequest | None = Field(
        None, description="Accelerators, e.g. {pool: l4-mps, count: 1}; placed on the stack's pools.",
    )
    replicas: Replicas = Field(default_factory=Replicas, description="Replica range, e.g. {min: 1, max: 3}.")
    canary_percent: Percent | None = Field(
        None, description="Percent of traffic for the newest revision after a change (KServe serverless only).",
    )
    runtime_image: PinnedImage | None = Field(
        None, description="Another pinned image of the stock server (plain Deployments only).",
    )
    runtime_version: str | None = Field(
        None, min_length=1,
        description="Tag of KServe's serving runtime image, e.g. 2.6.2-gpu for TF Serving on GPUs (KServe only).",
    )

    @model_validator(mode="after")
    def _server(self) -> "EndpointConfig":
        problem = model_or_container_problem(self.model, self.container) or \
            grpc_problem(self.model, self.container, self.protocol)
        if problem:
            raise ValueError(problem)
        return self


class WebAppConfig(Exposed):
    """A web UI container, wired to an endpoint by reference."""

    name: ServiceName = Field(description=f"App name (a DNS label starting with a letter, at most {MAX_NAME} characters).")
    namespace: DnsLabel | None = Field(None, description="Namespace. Default: the workload namespace.")
    image: PinnedImage = Field(description="The UI's container image, pinned to a version tag or digest.")
    port: int = Field(ge=1024, le=65535, description="Port the UI listens on (unprivileged).")
    command: tuple[str, ...] = Field((), description="Entrypoint; empty keeps the image's.")
    args: tuple[str, ...] = Field((), description="Arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables.")
    resources: ResourceOverrides = Field(
        default_factory=ResourceOverrides, description="CPU and memory. Default: 100m/256Mi requested, 500m/512Mi limit.",
    )
    replicas: int = Field(1, ge=1, le=100, description="Copies of the UI.")
    writable_paths: tuple[ContainerPath, ...] = Field(
        (), description="Folders the UI writes to, as empty scratch volumes (pods run as a non-root user).",
    )
    readiness_path: str | None = Field("/", description="HTTP path answering 200 when ready; null: TCP check.")
    backend: Backend | None = Field(None, description="The endpoint the app talks to, and how its outputs reach the app.")
