"""A request as one Envoy sees it, and the verdict on it.

Header names are lower case (HTTP/2 and Envoy's header map are case-insensitive); a
header is absent when it is not in ``headers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Peer:
    """The connection's source as the destination's proxy sees it.

    ``principal`` exists only over Istio mutual TLS; ``namespace`` is read from it
    (``source.namespace`` and ``namespaces`` match the principal's ``/ns/<name>/``:
    istio/istio ``pilot/pkg/security/authz/model/generator.go``, ``srcNamespaceGenerator``).
    """

    principal: str | None = None
    ip: str | None = None

    @property
    def namespace(self) -> str | None:
        if self.principal and "/ns/" in self.principal:
            return self.principal.split("/ns/", 1)[1].split("/", 1)[0]
        return None


@dataclass(frozen=True)
class Http:
    """What the request carries: authority, path (with query), method, port, headers."""

    host: str = "kubeflow.example"
    path: str = "/"
    method: str = "GET"
    port: int = 80
    headers: Mapping[str, str] = field(default_factory=dict)

    def with_headers(self, **changes: str | None) -> Http:
        """A copy with headers set (a value) or removed (None); names use ``_`` for ``-``."""
        headers = dict(self.headers)
        for name, value in changes.items():
            key = name.replace("_", "-")
            if value is None:
                headers.pop(key, None)
            else:
                headers[key] = value
        return replace(self, headers=headers)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Verdict:
    """Allowed or denied, and the rule that decided (``reason``)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def allow(reason: str) -> Verdict:
    return Verdict(True, reason)


def deny(reason: str) -> Verdict:
    return Verdict(False, reason)
