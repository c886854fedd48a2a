"""Serving: models behind endpoints (KServe or plain Deployments) and the web apps that use them.

- :mod:`components.serving.spec`: what a stack file says (model, replicas, backend link).
- :mod:`components.serving.args`: the endpoint's args, with the facts of other layers.
- :mod:`components.serving.endpoint`: :class:`ServingEndpoint`.
- :mod:`components.serving.webapp`: :class:`WebApp`.
- :mod:`components.serving.exposure`: gateway routes, certificates, login and access policies.
- :mod:`components.serving.kserve`, :mod:`components.serving.deployment`: the bodies of
  the server's objects; :mod:`components.serving.runtimes`: stock servers without KServe.
"""

from mlplane.components.serving.args import ModelStore, ServingEndpointArgs
from mlplane.components.serving.endpoint import BackendRef, ServingEndpoint
from mlplane.components.serving.exposure import Exposure, GatewayRef, IssuerRef
from mlplane.components.serving.spec import Backend, ModelServer, ModelSource, ModelVolume, Replicas
from mlplane.components.serving.webapp import WebApp, WebAppArgs

__all__ = [
    "Backend", "BackendRef", "Exposure", "GatewayRef", "IssuerRef", "ModelServer", "ModelSource", "ModelStore",
    "ModelVolume", "Replicas", "ServingEndpoint", "ServingEndpointArgs", "WebApp", "WebAppArgs",
]
