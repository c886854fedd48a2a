"""MinIO's decision on an S3 request by a user with a canned policy (the server release v1.8.1 pins).

The pinned server is ``RELEASE.2019-08-14T20-37-41Z`` (kubeflow/manifests v1.8.1
``apps/pipeline/upstream/third-party/minio/base/minio-deployment.yaml``). Each rule below
is that tag's code in minio/minio:

- ``cmd/iam.go`` ``IAMSys.IsAllowed``: the root user (the owner) may do anything; a user
  with no policy, or whose policy does not exist, nothing; else the statements of its
  policies, combined.
- ``pkg/iam/policy/policy.go`` ``Policy.IsAllowed``: any matching Deny statement denies;
  then any matching Allow statement allows; else denied.
- ``pkg/iam/policy/statement.go`` ``Statement.IsAllowed``: the action matches one of the
  statement's (``wildcard.Match``, ``action.go``); the resource is ``bucket/object``, or
  ``bucket/`` for a bucket request; the conditions hold.
- ``pkg/iam/policy/resource.go`` ``Resource.Match``: the pattern (the ARN after
  ``arn:aws:s3:::``) equals ``path.Clean(resource)`` or matches it with ``wildcard.Match``
  (``pkg/wildcard/match.go``: ``*`` any run of characters, ``/`` included; ``?`` one).
- ``pkg/policy/condition``: ``StringLike`` (``stringlikefunc.go``) holds when a request
  value matches one of the patterns by ``wildcard.Match``, ``StringEquals``
  (``stringequalsfunc.go``) when one is equal; a key absent from the request fails both.
  The key's name drops its ``s3:``/``aws:`` (``key.go`` ``Key.Name``); request values are the
  query parameters among others (``cmd/policy.go`` ``getConditionValues``), so ``s3:prefix``
  is a listing's ``prefix``. Any other operator is refused here rather than guessed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ARN = "arn:aws:s3:::"


@dataclass(frozen=True)
class S3Request:
    """One S3 call: ``action`` (``s3:GetObject``...), on ``bucket`` and ``key`` ("" for the bucket)."""

    action: str
    bucket: str
    key: str = ""
    conditions: Mapping[str, Sequence[str]] = field(default_factory=dict)


def wildcard_match(pattern: str, name: str) -> bool:
    """``pkg/wildcard`` ``Match``: ``*`` matches any run (``/`` too), ``?`` exactly one character."""
    if pattern == "":
        return name == ""
    if pattern == "*":
        return True
    head = pattern[0]
    if head == "*":
        return wildcard_match(pattern[1:], name) or (name != "" and wildcard_match(pattern, name[1:]))
    if name == "":
        return False
    if head != "?" and head != name[0]:
        return False
    return wildcard_match(pattern[1:], name[1:])


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _modelled(statements: list[Mapping[str, Any]]) -> None:
    """Refuse a condition this model does not implement (MinIO would apply it; guessing could allow)."""
    for statement in statements:
        for operator in statement.get("Condition") or {}:
            if operator not in ("StringLike", "StringEquals"):
                raise ValueError(f"condition operator {operator} is not modelled")


def _condition_holds(conditions: Mapping[str, Any], request: S3Request) -> bool:
    for operator, keys in (conditions or {}).items():
        for key, patterns in keys.items():
            name = key.split(":", 1)[1] if key.startswith(("s3:", "aws:")) else key
            values = list(request.conditions.get(name) or ())
            match = wildcard_match if operator == "StringLike" else str.__eq__
            if not any(match(p, v) for p in _list(patterns) for v in values):
                return False
    return True


def _statement_matches(statement: Mapping[str, Any], request: S3Request) -> bool:
    if not any(wildcard_match(a, request.action) for a in _list(statement.get("Action"))):
        return False
    key = request.key
    resource = request.bucket + ("" if key.startswith("/") else "/") + key if key else f"{request.bucket}/"
    patterns = [r.removeprefix(ARN) for r in _list(statement.get("Resource"))]
    if not any(posixpath.normpath(resource) == p or wildcard_match(p, resource) for p in patterns):
        return False
    return _condition_holds(statement.get("Condition") or {}, request)


def allowed(document: Mapping[str, Any], request: S3Request) -> bool:
    """Whether ``document`` (IAM JSON) lets a user make ``request`` (deny first, then allow)."""
    statements = _list(document.get("Statement")) if not isinstance(document.get("Statement"), Mapping) \
        else [document["Statement"]]
    _modelled(statements)
    if any(s.get("Effect") == "Deny" and _statement_matches(s, request) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and _statement_matches(s, request) for s in statements)


def object_access(document: Mapping[str, Any], bucket: str, key: str, folder: str) -> list[str]:
    """What ``document`` allows of reading, writing, deleting ``bucket/key`` and listing ``folder``.

    Returns:
        The allowed calls (``s3:GetObject``, ``s3:PutObject``, ``s3:DeleteObject``,
        ``s3:ListBucket prefix=<folder>``); empty when none is.
    """
    calls = [S3Request("s3:GetObject", bucket, key), S3Request("s3:PutObject", bucket, key),
             S3Request("s3:DeleteObject", bucket, key), S3Request("s3:ListBucket", bucket, "", {"prefix": [folder]})]
    return [c.action + (f" prefix={folder}" if c.action == "s3:ListBucket" else "") for c in calls if allowed(document, c)]
