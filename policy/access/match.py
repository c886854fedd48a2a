"""Istio's and Kubernetes' value matchers, as the evaluator applies them.

Istio (istio/istio at 1.17.3 and 1.29.0, ``pilot/pkg/security/authz/matcher/string.go`` and
``header.go``): a value ``*`` matches any present value, ``abc*`` is a prefix, ``*abc`` a
suffix, anything else exact. Hosts are compared ignoring case (``HostMatcher``:
``StringMatcherPrefix(..., true)``). Principals get the ``spiffe://`` prefix before the
same rule (``StringMatcherWithPrefix``, ``pilot/pkg/security/authz/model/generator.go``:
``srcPrincipalGenerator``). Paths (1.29.0 ``matcher/template.go``) also take the templates
``{*}`` (one segment) and ``{**}`` (any number of segments, at the end).

Kubernetes label selectors (``matchLabels`` ANDed with ``matchExpressions``; an empty
selector matches everything): kubernetes/kubernetes ``staging/src/k8s.io/apimachinery/pkg/
apis/meta/v1/helpers.go`` (``LabelSelectorAsSelector``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mlplane.components.admission import selector_matches


def istio_value(pattern: str, value: str | None, ignore_case: bool = False) -> bool:
    """Whether ``value`` (None: absent) matches one Istio string pattern."""
    if value is None:
        return False
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def any_value(patterns: Iterable[str], value: str | None, ignore_case: bool = False) -> bool:
    """OR over a field's values (Istio: ``values`` of one field are alternatives)."""
    return any(istio_value(p, value, ignore_case) for p in patterns)


def host(pattern: str, value: str | None) -> bool:
    """An operation's ``hosts``: case-insensitive; Istio also lists ``host:*`` to cover ports."""
    return istio_value(pattern, value, ignore_case=True)


def _template_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for segment in pattern.split("/"):
        if segment == "{**}":
            parts.append(".*")
        elif segment == "{*}":
            parts.append("[^/]+")
        else:
            parts.append(re.escape(segment))
    return re.compile("/".join(parts) + r"\Z")


def path(pattern: str, value: str | None) -> bool:
    """An operation's ``paths``: Istio wildcards, or a ``{*}``/``{**}`` template (1.29)."""
    if value is None:
        return False
    value = value.split("?", 1)[0]  # Istio matches the path without the query (url_path matcher)
    if "{*}" in pattern or "{**}" in pattern:
        return bool(_template_regex(pattern).match(value))
    return istio_value(pattern, value)


def principal(pattern: str, value: str | None) -> bool:
    """A ``principals`` entry against a peer's identity (``cluster.local/ns/N/sa/S``)."""
    return istio_value(pattern, value)


def labels(selector: Mapping[str, Any] | None, target: Mapping[str, str]) -> bool:
    """A Kubernetes LabelSelector (``matchLabels``, ``matchExpressions``) against labels."""
    return selector_matches(selector, target)


def match_labels(selector: Mapping[str, str] | None, target: Mapping[str, str]) -> bool:
    """An Istio ``selector.matchLabels`` (or a Service's ``selector``): every pair present."""
    return all(target.get(k) == v for k, v in (selector or {}).items())
