"""An upgrade on a live control plane: one plan applied, then another in Pulumi's order.

Pulumi's order for an update (https://www.pulumi.com/docs/iac/concepts/how-pulumi-works/):
creates and updates in dependency order; removed resources deleted last, dependents first
(the reverse of the old plan's order). The provider updates an object in server-side apply
mode by first handing the fields its create wrote (manager ``pulumi-kubernetes``, operation
Update) to the resource's own manager (pulumi/pulumi-kubernetes v4.32.0,
provider/pkg/await/await.go ``fixCSAFieldManagers``, a JSON patch of managedFields), then
applying with that manager, forced only as :func:`.apply.patch_force` says.

Replacements are not performed: the provider decides them from its ``forceNew`` table
(provider/pkg/provider/diff.go) and the harness does not carry that table; an update the
server refuses as immutable is reported as such (approximate: the provider may have replaced
it, create-before-delete, which for a named object fails as AlreadyExists unless
``deleteBeforeReplace``). Refusals are classified (:func:`classify`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from mlplane.components.admission import is_configuration
from mlplane.infra.offline.ancestry import Ancestry
from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.infra.offline.verify.apply import APPLY_PATCH, Outcome, apply_once, field_manager, is_patch, patch_force
from mlplane.infra.offline.verify.client import ApiError, Kube, NoMatch
from mlplane.infra.offline.verify.walk import WalkResult, objects_of, walk

#: Refusal words -> (class, why). "version-independent" refusals happen on any server.
CLASSES = (
    ("field is immutable", "version-independent", "an immutable field changed (the object must be replaced)"),
    ("cannot change roleref", "version-independent", "a binding's roleRef is immutable (the object must be replaced)"),
    ("apply failed with", "version-independent", "another field manager owns the field (another resource of the plan, "
     "or a Patch, set it) and the update is not forced"),
    ("storedversions", "version-independent", "a CRD version still stored was dropped from spec.versions"),
    ("must appear in spec.versions", "version-independent", "a CRD version still stored was dropped"),
    ("already exists", "version-independent", "the object exists under another resource: its URN changed without "
     "an alias, and Pulumi creates the new resource before it deletes the old one"),
    ("conversion webhook", "harness", "no conversion webhook server runs here"),
    ("failed calling webhook", "harness", "no webhook server runs here"),
    ("no matches for kind", "harness", "the 1.36 server does not serve an API the older release used"),
)


@dataclass
class UpgradeResult:
    """The second plan's walk and the deletions, with each refusal classified."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    refusals: list[dict[str, str]] = field(default_factory=list)


def classify(message: str) -> tuple[str, str]:
    """``(class, why)`` of a refusal; ``("unclassified", "")`` when no rule knows its words."""
    lowered = message.lower()
    return next(((cls, why) for words, cls, why in CLASSES if words in lowered), ("unclassified", ""))


def _hand_over_fields(kube: Kube, path: str, manager: str) -> None:
    """fixCSAFieldManagers: the create's ``pulumi-kubernetes``/Update entries become ``manager``/Apply."""
    live = kube.get(path)
    entries = (live.get("metadata") or {}).get("managedFields") or []
    changed = [dict(e, manager=manager, operation="Apply") if (e.get("manager"), e.get("operation")) ==
               ("pulumi-kubernetes", "Update") else e for e in entries]
    if changed != entries:
        kube.request("PATCH", path, [{"op": "replace", "path": "/metadata/managedFields", "value": changed}],
                     content_type="application/json-patch+json")


def _update(kube: Kube, old: dict[str, str], resource: PlanResource, obj: dict[str, Any],
            result: UpgradeResult) -> Outcome:
    """Create a new resource, or update one whose inputs changed, as the provider does."""
    previous = old.get(resource.urn)
    if previous is None:
        result.created += 1
        return apply_once(kube, resource.urn, resource.type, obj, strict_check=False)
    if previous == json.dumps(obj, sort_keys=True):
        result.unchanged += 1
        return Outcome(ok=True)
    result.updated += 1
    meta = obj.get("metadata") or {}
    try:
        path = kube.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
    except NoMatch as exc:
        return Outcome(ok=False, retry=True, error=str(exc), reason="NoMatch")
    manager = field_manager(resource.urn, obj)
    try:
        if not is_patch(resource.type):
            _hand_over_fields(kube, path, manager)
        kube.request("PATCH", path, json.dumps(obj),
                     {"fieldManager": manager, "force": str(patch_force(obj)).lower(), "fieldValidation": "Warn"},
                     APPLY_PATCH)
    except ApiError as exc:
        return Outcome(ok=False, retry=exc.status == 404, error=exc.message, reason=exc.reason)
    return Outcome(ok=True)


def restack(plan: Plan, stack: str) -> Plan:
    """``plan`` with its URNs under ``stack`` (a stack-file copy renders under another stack name)."""
    old, new = f"urn:pulumi:{plan.stack}::", f"urn:pulumi:{stack}::"

    def moved(urn: str | None) -> str | None:
        return new + urn[len(old):] if urn is not None and urn.startswith(old) else urn

    resources = tuple(replace(r, urn=moved(r.urn), parent=moved(r.parent), provider=moved(r.provider),
                              dependencies=tuple(moved(d) for d in r.dependencies)) for r in plan)
    return Plan(project=plan.project, stack=stack, resources=resources)


def upgrade(kube: Kube, first: Plan, second: Plan) -> tuple[WalkResult, WalkResult, UpgradeResult]:
    """Apply ``first`` (as verify does), then ``second`` in Pulumi's order; classify the refusals.

    ``first`` is taken as the same stack as ``second`` (its URNs are moved to ``second``'s stack name).
    """
    from mlplane.infra.offline.verify.fill import fill

    first = restack(first, second.stack)
    old_ancestry, new_ancestry = Ancestry(first), Ancestry(second)
    old_objects, new_objects = objects_of(first), objects_of(second)
    held_old = {r.urn for r in old_objects if is_configuration(r.inputs)}
    held_new = {r.urn for r in new_objects if is_configuration(r.inputs)}
    before = walk(kube, old_ancestry, old_objects, held_old)
    applied = {urn: json.dumps(obj, sort_keys=True) for urn, obj in before.applied.items()}
    result = UpgradeResult()
    after = walk(kube, new_ancestry, new_objects, held_new,
                 step=lambda resource, obj: _update(kube, applied, resource, obj, result))
    for urn, outcome in after.refused.items():
        cls, why = classify(outcome.error)
        result.refusals.append({"subject": urn.rsplit("::", 1)[-1], "step": "create or update", "class": cls,
                                "why": why, "message": outcome.error})
    kept = second.by_urn()
    removed = [r for r in old_objects if r.urn not in kept and r.urn in before.applied]
    # Deleted last, dependents before what they depend on: the old plan's order reversed.
    depth = {r.urn: len(old_ancestry.waits_for(r.urn)) for r in removed}
    for resource in sorted(removed, key=lambda r: (-depth[r.urn], r.urn)):
        obj, _ = fill(resource.inputs, resource.name)
        meta = obj.get("metadata") or {}
        try:
            path = kube.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
            if is_patch(resource.type):
                continue  # the provider relinquishes a patch's fields (ssa.Relinquish); nothing is deleted
            kube.request("DELETE", path)
            result.deleted += 1
        except (ApiError, NoMatch) as exc:
            if isinstance(exc, ApiError) and exc.status == 404:
                result.deleted += 1  # already gone with its namespace or owner
                continue
            cls, why = classify(str(exc))
            result.refusals.append({"subject": resource.name, "step": "delete", "class": cls, "why": why,
                                    "message": str(exc)})
    return before, after, result
