"""The scenario a matrix is evaluated in: profiles A and B, their people, run-time objects.

A is the plan's first profile (by name); B a profile none of whose owner is a member of
A. When the plan declares no such profile, B stands for one the operator would declare
(run-time profile creation is closed: components/platform/'s admission policy admits
declared profiles only): the profile controller's objects plus a copy of what mlplane
makes in A's namespace that is not about A's people (:func:`declared_like`). Contributors of A missing from the plan are added as
KFAM would add them at run time. Probes (a notebook, a TensorBoard and a serverless
endpoint named ``probe``) stand for what A's members create at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
from dataclasses import dataclass
from typing import Any

from mlplane.components.credentials import profile_identities
from mlplane.policy.access import cluster as cluster_mod
from mlplane.policy.access import jwt, runtime
from mlplane.policy.access.paths import VIA, World

AUDIENCE = "kubeflow-oidc-authservice"


@dataclass(frozen=True)
class People:
    """Who is who in the scenario."""

    a: str
    b: str
    owner_a: str
    edit_a: str
    view_a: str
    user_b: str


def _members(objects: list[Mapping[str, Any]], profile: str, owner: str) -> dict[str, str]:
    """E-mail -> role in ``profile`` (owner ``admin``; RoleBindings to kubeflow-edit/-view)."""
    members = {owner: "admin"}
    for obj in objects:
        if obj.get("kind") == "RoleBinding" and obj["metadata"].get("namespace") == profile:
            role = obj["roleRef"]["name"].removeprefix("kubeflow-")
            for subject in obj.get("subjects") or ():
                if subject.get("kind") == "User":
                    members.setdefault(subject["name"], role)
    return members


def people(objects: list[Mapping[str, Any]]) -> tuple[People, dict[str, str], tuple[tuple[str, str, str], ...]]:
    """``(people, run-time profiles, run-time contributors)`` for a plan."""
    profiles = sorted((o["metadata"]["name"], o["spec"]["owner"]["name"]) for o in objects if o.get("kind") == "Profile")
    if not profiles:
        profiles = [("runtime-a", "owner-a@runtime.example")]
    a, owner = profiles[0]
    domain = owner.split("@", 1)[1]
    members = _members(objects, a, owner)
    extra: dict[str, str] = {} if profiles[0][0] != "runtime-a" else {a: owner}
    added: list[tuple[str, str, str]] = []
    picks = {}
    for role in ("edit", "view"):
        found = next((e for e, r in members.items() if r == role), None)
        if found is None:
            found = f"{role}-contributor@{domain}"
            added.append((a, found, role))
        picks[role] = found
    b = next(((n, o) for n, o in profiles[1:] if o not in members), None)
    if b is None:
        b = ("runtime-b", f"b-only@{domain}")
        extra[b[0]] = b[1]
    return People(a, b[0], owner, picks["edit"], picks["view"], b[1]), extra, tuple(added)


#: What mlplane makes in every profile namespace alike (people's bindings and policies are per profile).
NAMESPACE_KINDS = ("NetworkPolicy", "AuthorizationPolicy", "PeerAuthentication", "Sidecar", "ResourceQuota", "LimitRange")


def _renamed(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return new if value == old else value


def declared_like(objects: list[Mapping[str, Any]], who: People) -> list[dict[str, Any]]:
    """mlplane's objects of A's namespace, made again for B as if B were declared.

    Namespace-wide objects (:data:`NAMESPACE_KINDS`) that mention none of A's people, and A's
    Namespace object (its labels), with every value naming A renamed to B.
    """
    people = set(_members(objects, who.a, who.owner_a))
    made: list[dict[str, Any]] = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        mine = obj.get("kind") in NAMESPACE_KINDS and meta.get("namespace") == who.a
        if not (mine or (obj.get("kind") == "Namespace" and meta.get("name") == who.a)):
            continue
        if any(p in json.dumps(obj) for p in people):
            continue
        made.append(_renamed(dict(obj), who.a, who.b))
    return made


def minio_users(objects: list[Mapping[str, Any]]) -> dict[str, tuple[str, dict]]:
    """The MinIO users and policies of the plan's identities ConfigMap (what its Job adds to MinIO)."""
    found: dict[str, tuple[str, dict]] = {}
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and obj["metadata"].get("name") == profile_identities.IDENTITIES:
            found.update(profile_identities.read_identities(obj.get("data") or {}))
    return found


def world(objects: list[Mapping[str, Any]]) -> tuple[World, People]:
    """The evaluated world of a plan: its objects plus the run-time ones, and its people."""
    who, extra, added = people(objects)
    if who.b in extra:
        objects = [*objects, *declared_like(objects, who)]
    policies: dict[str, list[str]] = {}
    made = runtime.synthesize(objects, extra, added, {who.a: ("notebook", "tensorboard", "endpoint")}, policies)
    everything = [*objects, *made]
    built = cluster_mod.build(everything)
    result = World(built)
    result.s3_policies = policies
    result.minio_users = minio_users(objects)
    result.via = {(o["metadata"]["namespace"], o["metadata"]["name"]): o["metadata"]["annotations"][VIA]
                  for o in everything if o.get("kind") == "Service" and VIA in (o["metadata"].get("annotations") or {})}
    issuer = next((r["issuer"] for o in built.of_kind("RequestAuthentication")
                   for r in (o.get("spec") or {}).get("jwtRules") or ()), "http://dex.auth.svc.cluster.local:5556/dex")
    for email in {who.owner_a, who.edit_a, who.view_a, who.user_b}:
        token = result.tokens.issue(jwt.Claims(issuer, email, email, AUDIENCE))
        result.sessions.known[f"session-{email}"] = (email, token)
    return result, who
