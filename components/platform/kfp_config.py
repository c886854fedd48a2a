"""KFP's install settings mlplane changes: the cache image pinned, the per-namespace artifact proxy on.

A transform on the pipelines directory (see :mod:`components.credentials.transform` for the
mechanism, which the offline expansion runs too).

**Cache image.**
KFP's cache server starts the pod of a cached step from ``pipeline-install-config``'s
``cacheImage`` (``CACHE_IMAGE`` env of ``cache-server``), which both trains leave untagged:
``gcr.io/google-containers/busybox`` (kubeflow/manifests v1.8.1) and
``ghcr.io/containerd/busybox`` (26.03; ``applications/pipeline/upstream/base/installs/
generic/pipeline-install-config.yaml``). mlplane pins it to ``ghcr.io/containerd/busybox:1.36``,
the tag containerd's own integration tests pull (containerd/containerd
``integration/images/image_list.go``: ``BusyBox: "ghcr.io/containerd/busybox:1.36"``). The
cached pod only echoes the cached outputs, so any busybox serves.

**Artifact proxy.** KFP's UI reads artifacts with its own object-store key, the store's admin
key, for whatever ``namespace`` a request names; with ``ARTIFACTS_SERVICE_PROXY_ENABLED`` it
forwards each request that names a namespace to ``ml-pipeline-ui-artifact`` in that namespace
instead (kubeflow/pipelines 2.16.0 ``frontend/server/handlers/artifacts.ts``:
``getArtifactsProxyHandler`` routes by the ``namespace`` query parameter and checks nothing
else, so who may reach which proxy is the access matrix's cell, not the UI's). The profile
controller deploys that proxy in each profile with the profile's own credentials when its
``ARTIFACTS_PROXY_ENABLED`` is true (``sync.py`` of the ``kubeflow-pipelines-profile-controller-code``
ConfigMap, both trains). 26.03 reads both switches from ``pipeline-install-config``'s
``ARTIFACTS_PROXY_ENABLED`` (``false`` upstream); 1.8.1's UI has it on and its controller reads
an env var it is not given, so mlplane sets it there.

**The UI's open proxy.** KFP's UI server forwards any request under
``<base>/apis/v1beta1/_proxy/<URL>`` (and ``v2beta1``) to the URL its path names, with any
method, from its own pod (kubeflow/pipelines 2.0.5 and 2.16.0 ``frontend/server/proxy-middleware.ts``,
registered in ``frontend/server/app.ts`` for both API prefixes, with and without the
``/pipeline`` base path; no allowlist). Every logged-in user reaches the UI through the
gateway, so that would lend every user the UI's network position and mesh identity: the
cloud metadata endpoint, SeaweedFS's unauthenticated filer (every profile's artifacts), the
visualization server's code execution, ML Metadata. mlplane narrows upstream's
``ml-pipeline-ui`` AuthorizationPolicy (ALLOW) so that none of its rules matches those paths
(``notPaths``), which Istio then denies. The run page's ``web-app``/TensorBoard views that used
the proxy no longer load through it. The same module's Referer rewrite (a request whose
``Referer`` contains the proxy prefix is proxied to that origin) stays: its target path is the
request's own, which the gateway only routes under ``/pipeline``.

**The visualization service.** KFP's API server forwards ``CreateVisualizationV1`` (v1beta1, the
only version it registers: kubeflow/pipelines 2.0.5 and 2.16.0 ``backend/src/apiserver/main.go``)
to a visualization server that runs the request's Python (``type: custom`` with
``arguments.code``; any type's ``source`` is also pasted into code unescaped:
``backend/src/apiserver/visualization/server.py``). The API authorizes the call only when it
names a namespace, with ``create visualizations``, which ``kubeflow-pipelines-view`` grants
(so, on 1.8.1, a profile's *view* contributor runs code as its visualization server's
``default-editor``); a call without a namespace is not authorized at all and runs in
``kubeflow``'s server (``backend/src/apiserver/server/visualization_server.go``), reachable over
gRPC by every pod that may call the KFP API. mlplane narrows upstream's ``ml-pipeline``
ALLOW the same way, over HTTP and gRPC (:data:`VISUALIZATION_PATHS`): KFP's Python-based
visualizations are off.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pulumi

from mlplane.components.patch_transform import patch_transform

CACHE_IMAGE = "ghcr.io/containerd/busybox:1.36"
PROXY_KEY = "ARTIFACTS_PROXY_ENABLED"
_CONFIG = "pipeline-install-config"
_PROFILE_CONTROLLER = "kubeflow-pipelines-profile-controller"
_UI = "ml-pipeline-ui"
_API = "ml-pipeline"
#: The UI's open-proxy routes: ``<base>/<api prefix>/_proxy/*`` for both API prefixes, with the
#: gateway's ``/pipeline`` base path and without it (kubeflow/pipelines 2.0.5 and 2.16.0
#: ``frontend/server/app.ts``: ``proxyMiddleware`` registered four times).
UI_PROXY_PATHS = tuple(f"{base}/apis/{version}/_proxy/*" for base in ("/pipeline", "")
                       for version in ("v1beta1", "v2beta1"))
#: The API server's visualization service over HTTP (grpc-gateway, with or without the UI's
#: base path) and gRPC (``/<proto package>.<service>/<method>``; package ``api``:
#: ``backend/api/v1beta1/visualization.proto``).
VISUALIZATION_PATHS = ("/apis/v1beta1/visualizations/*", "/pipeline/apis/v1beta1/visualizations/*",
                       "/api.VisualizationService/*")
#: Upstream ALLOW policies (by name, in the KFP namespace) and the paths none of their rules may match.
NARROWED = {_UI: UI_PROXY_PATHS, _API: VISUALIZATION_PATHS}


def narrow_allow(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """Upstream's ``ml-pipeline-ui`` and ``ml-pipeline`` ALLOWs with no rule matching their
    :data:`NARROWED` paths; None for any other object.

    Each rule gets the paths as ``notPaths`` in every operation (a rule without ``to`` gets one
    operation): an ALLOW rule matches only when its operation does, and a request no ALLOW
    rule of a selecting policy matches is denied (istio.io "Authorization Policy" reference).
    """
    name = (obj.get("metadata") or {}).get("name")
    spec = obj.get("spec") or {}
    if (obj.get("kind") != "AuthorizationPolicy" or name not in NARROWED
            or spec.get("action", "ALLOW") != "ALLOW" or not spec.get("rules")):
        return None
    patched = copy.deepcopy(dict(obj))
    for rule in patched["spec"]["rules"]:
        operations = [t.setdefault("operation", {}) for t in rule.setdefault("to", [{}])]
        for operation in operations:
            operation["notPaths"] = [*operation.get("notPaths", ()),
                                     *(p for p in NARROWED[name] if p not in operation.get("notPaths", ()))]
    return patched


def patch_install_config(obj: Mapping[str, Any], image: str = CACHE_IMAGE) -> dict[str, Any] | None:
    """``pipeline-install-config`` with the cache image pinned and the artifact proxy on, the
    profile controller reading that switch, the UI's open proxy and the visualization service
    closed (:func:`narrow_allow`); None for any other object."""
    if (closed := narrow_allow(obj)) is not None:
        return closed
    name = (obj.get("metadata") or {}).get("name")
    if obj.get("kind") == "ConfigMap" and name == _CONFIG and "cacheImage" in (obj.get("data") or {}):
        patched = copy.deepcopy(dict(obj))
        patched["data"].update({"cacheImage": image, PROXY_KEY: "true"})
        return patched
    if obj.get("kind") == "Deployment" and name == _PROFILE_CONTROLLER:
        patched = copy.deepcopy(dict(obj))
        container = patched["spec"]["template"]["spec"]["containers"][0]
        env = [e for e in container.get("env") or [] if e.get("name") != PROXY_KEY]
        container["env"] = [*env, {"name": PROXY_KEY, "valueFrom": {"configMapKeyRef": {"name": _CONFIG,
                                                                                        "key": PROXY_KEY}}}]
        return patched if patched != obj else None
    return None


def install_config_transform(image: str = CACHE_IMAGE) -> pulumi.ResourceTransform:
    """The ``ResourceTransform`` that runs :func:`patch_install_config` on each child."""
    return patch_transform(lambda props: patch_install_config(props, image))
