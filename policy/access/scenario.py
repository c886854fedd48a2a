"""The scenario a matrix is evaluated in: profiles A and B, their people, run-time objects.

A is the plan's first profile (by name); B a profile none of whose owner is a member of
A, else one created at run time (through the dashboard, so only the profile
controller's objects exist for it). Contributors of A missing from the plan are added as
KFAM would add them at run time. Probes (a notebook, a TensorBoard and a serverless
endpoint named ``probe``) stand for what A's members create at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


def world(objects: list[Mapping[str, Any]]) -> tuple[World, People]:
    """The evaluated world of a plan: its objects plus the run-time ones, and its people."""
    who, extra, added = people(objects)
    policies: dict[str, list[str]] = {}
    made = runtime.synthesize(objects, extra, added, {who.a: ("notebook", "tensorboard", "endpoint")}, policies)
    everything = [*objects, *made]
    built = cluster_mod.build(everything)
    result = World(built)
    result.s3_policies = policies
    result.via = {(o["metadata"]["namespace"], o["metadata"]["name"]): o["metadata"]["annotations"][VIA]
                  for o in everything if o.get("kind") == "Service" and VIA in (o["metadata"].get("annotations") or {})}
    issuer = next((r["issuer"] for o in built.of_kind("RequestAuthentication")
                   for r in (o.get("spec") or {}).get("jwtRules") or ()), "http://dex.auth.svc.cluster.local:5556/dex")
    for email in {who.owner_a, who.edit_a, who.view_a, who.user_b}:
        token = result.tokens.issue(jwt.Claims(issuer, email, email, AUDIENCE))
        result.sessions.known[f"session-{email}"] = (email, token)
    return result, who
