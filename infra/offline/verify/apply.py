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
        dropped: For a Patch resource: list items others had set that its apply removed (an
            atomic list under server-side apply is replaced whole, whoever set its items).
    """

    ok: bool
    retry: bool = False
    error: str = ""
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    strict: str = ""
    dropped: list[str] = field(default_factory=list)


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
    before = _live(kube, path) if patch else None
    try:
        response = kube.request(method, path, body, query, content_type)
    except ApiError as exc:
        return Outcome(ok=False, retry=exc.status == 404, error=exc.message, reason=exc.reason, strict=strict)
    dropped = _dropped(obj, before, response.body, query.get("fieldManager", "")) if before else []
    return Outcome(ok=True, warnings=response.warnings, strict=strict, dropped=dropped)


def _live(kube: Kube, path: str) -> dict[str, Any] | None:
    try:
        return kube.get(path)
    except ApiError:
        return None


def _dropped(patch: dict[str, Any], before: dict[str, Any], after: dict[str, Any], manager: str) -> list[str]:
    """``path: item`` for each list item under a path the patch sets that was live before and is gone after."""
    found: list[str] = []

    def walk(value: Any, old: Any, new: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict) and isinstance(old, dict):
            for key, item in value.items():
                walk(item, old.get(key), new.get(key) if isinstance(new, dict) else None, (*path, key))
        elif isinstance(value, list) and isinstance(old, list):
            kept = new if isinstance(new, list) else []
            for item in old:
                if item not in kept and item not in value:
                    owners = _owners(before, path, manager)
                    found.append(f"{'.'.join(path)}: {json.dumps(item, sort_keys=True)} (set by "
                                 f"{', '.join(owners) or 'another manager'})")

    walk(patch, before, after, ())
    return found


def _owners(obj: dict[str, Any], path: tuple[str, ...], manager: str) -> list[str]:
    """Field managers other than ``manager`` whose managedFields reach ``path``."""
    owners = []
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        fields = entry.get("fieldsV1") or {}
        for key in path:
            fields = fields.get(f"f:{key}") if isinstance(fields, dict) else None
        if fields is not None and entry.get("manager") != manager:
            owners.append(entry.get("manager", "?"))
    return sorted(set(owners))
