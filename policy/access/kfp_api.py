"""The KFP API server's own authorization, behind the mesh.

Read from kubeflow/pipelines at 1.8.1, 2.0.5 and 2.16.0 (same logic at all three):

- ``backend/src/apiserver/auth/auth.go`` (``GetAuthenticators``): the caller's identity is
  the first of (1) the ``kubeflow-userid`` header (``authenticator_http_headers.go``,
  trusted as is, minus its prefix), (2) a ``Authorization: Bearer`` token that a
  TokenReview with audience ``pipelines.kubeflow.org`` authenticates
  (``authenticator_token_review.go``: the token's own ServiceAccount user name).
  A request with neither is unauthenticated.
- ``backend/src/apiserver/resource/resource_manager.go`` (``IsAuthorized`` at 2.0.5 and
  2.16.0, ``AuthenticateRequest``/``IsRequestAuthorized`` at 1.8.1): only in multi-user
  mode (env ``MULTIUSER``, ``common/config.go``) is anything checked; with
  ``MULTIUSER_SHARED_READ`` every get/list passes; otherwise a SubjectAccessReview whose
  spec carries ``User`` alone (no groups) for the request's ``ResourceAttributes``.
- ``backend/src/apiserver/server/run_server.go`` (``listRuns``): listing runs asks verb
  ``list`` on ``pipelines.kubeflow.org`` ``runs`` in the namespace
  (``common/const.go``: ``RbacPipelinesGroup``, ``RbacResourceTypeRuns``).

So the header is the whole defence when it reaches the server: the mesh must refuse a
forged one. A header-less request is as strong as Kubernetes RBAC for the caller's own
ServiceAccount (:mod:`policy.access.rbac` decides it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlplane.policy.access import rbac
from mlplane.policy.access.request import Verdict, allow, deny

HEADER = "kubeflow-userid"
SOURCE = "kubeflow/pipelines backend/src/apiserver (auth/auth.go, resource/resource_manager.go) at 1.8.1, 2.0.5, 2.16.0"


def server_env(objects: list[Mapping[str, Any]]) -> dict[str, str] | None:
    """The ``ml-pipeline`` Deployment's container env (ConfigMap references resolved), or None."""
    from mlplane.policy.access.kfp_sync import _container_env
    for obj in objects:
        if obj.get("kind") == "Deployment" and obj["metadata"]["name"] == "ml-pipeline" and \
                obj["metadata"].get("namespace") == "kubeflow":
            return _container_env(objects, obj)
    return None


def _on(env: Mapping[str, str], key: str) -> bool:
    return env.get(key, "false").strip().lower() == "true"


def decide(objects: list[Mapping[str, Any]], request: rbac.Request, header_user: str | None,
           caller: rbac.Identity | None, reason: str) -> Verdict:
    """What the KFP API server answers a request that reached it.

    Args:
        objects: The world's objects (Deployments, ConfigMaps, RBAC objects).
        request: What the call asks, as KFP's SubjectAccessReview attributes.
        header_user: The ``kubeflow-userid`` header the request carries, or None.
        caller: The identity of a ServiceAccount token the caller presents (a pod's own), or None.
        reason: The trail that brought the request to the server.

    Returns:
        Allowed or denied, with KFP's reason appended to ``reason``.
    """
    env = server_env(objects)
    if env is None or not _on(env, "MULTIUSER"):
        return allow(f"{reason} -> the KFP API runs in single-user mode and authorizes nothing ({SOURCE})")
    if _on(env, "MULTIUSER_SHARED_READ") and request.verb in ("get", "list"):
        return allow(f"{reason} -> MULTIUSER_SHARED_READ lets anyone {request.verb} ({SOURCE})")
    if header_user is not None:
        header_user = header_user.removeprefix(env.get("KUBEFLOW_USERID_PREFIX", ""))
        who, how = rbac.Identity(header_user, ()), f"the {HEADER} header it trusts ({header_user})"
    elif caller is not None:
        who, how = rbac.Identity(caller.user, ()), f"the caller's own ServiceAccount token ({caller.user})"
    else:
        return deny(f"{reason} -> KFP API: no {HEADER} header and no token: unauthenticated ({SOURCE})")
    rbac_objects = [o for o in objects if o.get("kind") in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")]
    verdict = rbac.decide(rbac_objects, who, request)
    return (allow if verdict else deny)(f"{reason} -> KFP API authorizes {how} by SubjectAccessReview: {verdict.reason}")
