"""One object applied as pulumi-kubernetes applies it (server-side apply mode, its default).

Facts, from pulumi/pulumi-kubernetes at tag v4.32.0 (docs/verify.md quotes them):

- provider/pkg/provider/provider.go, ``enableServerSideApply``: server-side apply mode is on
  unless ``enableServerSideApply``/``PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY`` says false.
- provider/pkg/await/await.go, ``Creation``: a resource that is neither a Patch resource nor
  under ``upsertExistingObjects`` is a plain create (``POST``) with field manager
  ``pulumi-kubernetes`` and no ``fieldValidation`` (the server's default, Warn); a duplicate
  fails with AlreadyExists. A Patch resource (its type ends in ``Patch``,
  ``kinds.IsPatchResource``) is a server-side apply (``PATCH``,
  ``application/apply-patch+yaml``) with ``fieldValidation=Warn``, forced only when the
  ``pulumi.com/patchForce`` annotation is "true" or the provider's ``enablePatchForce`` is on
  (``patchForce``).
- provider.go, ``fieldManagerName``: one field manager per resource,
  ``pulumi-kubernetes-<random suffix>`` (``resource.NewUniqueName``), unless the
  ``pulumi.com/patchFieldManager`` annotation names one.
- await.go, ``Creation``: the create is retried while the error is NotFound (e.g. the
  namespace is missing) or NoMatch (the kind is not served: a CRD not yet established), at
  most 5 retries, 1 s doubling (provider/pkg/retry/retry.go); any other error (a webhook that
  does not answer, Pod Security, an invalid field) fails the resource at once.

The harness adds one request the provider does not send: the same create or apply as a dry
run with ``fieldValidation=Strict``, whose refusal is reported as a warning (what strict
validation would refuse; the provider itself warns only).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from mlplane.infra.offline.verify.client import ApiError, Kube, NoMatch

MAX_RETRIES = 5
FIRST_WAIT, BACKOFF = 1.0, 2.0
CREATE_MANAGER = "pulumi-kubernetes"
APPLY_PATCH = "application/apply-patch+yaml"


@dataclass
class Outcome:
    """What one attempt did.

    Attributes:
        ok: Stored.
        retry: A NotFound or NoMatch error the provider retries.
        error: The API server's words when refused (or the NoMatch text).
        warnings: Warning headers of the real request.
        strict: What the strict dry run refused (empty: nothing).
    """

    ok: bool
    retry: bool = False
    error: str = ""
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    strict: str = ""


def is_patch(resource_type: str) -> bool:
    """Whether a pulumi-kubernetes type is a Patch resource (``NodePatch``, ``DeploymentPatch``, ...)."""
    return resource_type.endswith("Patch")


def field_manager(urn: str, obj: dict[str, Any]) -> str:
    """The resource's own field manager: ``pulumi-kubernetes-`` and a suffix fixed per URN.

    The provider draws the suffix at random once and keeps it in the state; a hash of the URN
    gives the same one-manager-per-resource behaviour, reproducibly.
    """
    named = ((obj.get("metadata") or {}).get("annotations") or {}).get("pulumi.com/patchFieldManager")
    return named or "pulumi-kubernetes-" + hashlib.sha256(urn.encode()).hexdigest()[:8]


def patch_force(obj: dict[str, Any], enable_patch_force: bool = False) -> bool:
    """Whether a server-side apply is forced (await.go ``patchForce``, not in preview)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations.get("pulumi.com/patchForce") == "true" or enable_patch_force


def apply_once(kube: Kube, urn: str, resource_type: str, obj: dict[str, Any], strict_check: bool = True,
               enable_patch_force: bool = False) -> Outcome:
    """One attempt at creating (or, for a Patch resource, applying) ``obj``."""
    meta = obj.get("metadata") or {}
    try:
        patch = is_patch(resource_type)
        path = kube.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"] if patch else None)
    except NoMatch as exc:
        return Outcome(ok=False, retry=True, error=str(exc), reason="NoMatch")
    if patch:
        query = {"fieldManager": field_manager(urn, obj), "force": str(patch_force(obj, enable_patch_force)).lower(),
                 "fieldValidation": "Warn"}
        body, content_type = json.dumps(obj), APPLY_PATCH
        method = "PATCH"
    else:
        query, body, content_type, method = {"fieldManager": CREATE_MANAGER}, obj, "application/json", "POST"
    strict = ""
    if strict_check:
        try:
            kube.request(method, path, body, {**query, "dryRun": "All", "fieldValidation": "Strict"}, content_type)
        except ApiError as exc:
            if exc.reason == "BadRequest" and "strict decoding error" in exc.message:
                strict = exc.message
    try:
        response = kube.request(method, path, body, query, content_type)
    except ApiError as exc:
        return Outcome(ok=False, retry=exc.status == 404, error=exc.message, reason=exc.reason, strict=strict)
    return Outcome(ok=True, warnings=response.warnings, strict=strict)
