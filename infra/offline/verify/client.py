"""A small REST client over the ``kubernetes`` package's ApiClient, with a REST mapper.

The typed client cannot send an arbitrary custom resource, and the dynamic client caches
discovery for its lifetime; the provider instead looks the kind up again on every retry
(pulumi/pulumi-kubernetes v4.32.0, provider/pkg/await/await.go, ``Creation``: "Recreate the
client for resource, in case the client's cache of the server API was invalidated"), so
:class:`RestMapper` re-reads one group-version's discovery document on a miss.

Warnings come back in ``Warning`` response headers (RFC 7234 form ``299 - "text"``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import config as kube_config
from kubernetes.client import ApiClient

_WARNING = re.compile(r'\d{3} \S+ "((?:[^"\\]|\\.)*)"')


class NoMatch(Exception):
    """The server does not serve this apiVersion/kind (client-go's ``meta.NoKindMatchError``)."""


@dataclass(frozen=True)
class ApiError(Exception):
    """A refusal: HTTP status, the Status reason and message the API server wrote."""

    status: int
    reason: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Response:
    """A successful answer: the object and any warnings."""

    body: dict[str, Any]
    warnings: list[str]


@dataclass
class Kube:
    """The admin client of one control plane."""

    kubeconfig: Path
    api: ApiClient = field(init=False)
    _mapping: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.api = kube_config.new_client_from_config(config_file=str(self.kubeconfig))

    def close(self) -> None:
        """Release the connection pool."""
        self.api.close()

    def request(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
                content_type: str = "application/json") -> Response:
        """One call; raises :class:`ApiError` with the server's words on a refusal."""
        method_, url, headers, payload, _ = self.api.param_serialize(
            method, path, query_params=list((query or {}).items()),
            header_params={"Content-Type": content_type, "Accept": "application/json"}, body=body,
            auth_settings=["BearerToken"])
        raw = self.api.call_api(method_, url, header_params=headers, body=payload, _request_timeout=60)
        data = raw.read()
        if not 200 <= raw.status < 300:
            raise _api_error(raw.status, raw.reason, data)
        warnings = [_unquote(w) for w in raw.headers.getlist("Warning")] if raw.headers else []
        return Response(json.loads(data) if data else {}, warnings)

    def get(self, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
        """GET ``path``'s JSON."""
        return self.request("GET", path, query=query).body

    def items(self, api_version: str, kind: str) -> list[dict[str, Any]]:
        """Every object of one kind in the cluster (empty when the kind is not served)."""
        try:
            return self.get(self.path(api_version, kind, None, None, all_namespaces=True)).get("items") or []
        except NoMatch:
            return []

    def mapping(self, api_version: str, kind: str) -> tuple[str, bool]:
        """``(plural, namespaced)`` of a kind, re-reading discovery once on a miss.

        Raises:
            NoMatch: The server does not serve it.
        """
        for fresh in (False, True):
            if fresh or api_version not in self._mapping:
                self._mapping[api_version] = self._discover(api_version)
            if kind in self._mapping[api_version]:
                return self._mapping[api_version][kind]
        raise NoMatch(f'no matches for kind "{kind}" in version "{api_version}"')

    def path(self, api_version: str, kind: str, namespace: str | None, name: str | None,
             all_namespaces: bool = False) -> str:
        """The REST path of an object (``name`` None: its collection)."""
        plural, namespaced = self.mapping(api_version, kind)
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if namespaced and not all_namespaces:
            base += f"/namespaces/{namespace or 'default'}"
        return f"{base}/{plural}" + (f"/{name}" if name else "")

    def _discover(self, api_version: str) -> dict[str, tuple[str, bool]]:
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        try:
            document = self.get(base)
        except ApiError as exc:
            if exc.status in (404, 503):
                return {}
            raise
        return {r["kind"]: (r["name"], bool(r.get("namespaced"))) for r in document.get("resources", [])
                if "/" not in r["name"]}


def _unquote(header: str) -> str:
    match = _WARNING.match(header)
    return match.group(1).replace('\\"', '"') if match else header


def _api_error(code: int, reason: str, data: bytes | None) -> ApiError:
    try:
        status = json.loads(data or b"{}")
    except (json.JSONDecodeError, TypeError):
        status = {}
    message = status.get("message") if isinstance(status, dict) else None
    if not message:
        message = (data or b"").decode(errors="replace") or reason
    return ApiError(code, str((status.get("reason") if isinstance(status, dict) else None) or reason or ""), message)
