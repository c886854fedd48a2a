"""The one place where Kubernetes object names are made and checked.

Kubernetes limits most names to DNS-1123 labels (63 characters) and some to DNS-1123
subdomains (253). Names built from user input (pipeline and step names, pool names)
can exceed those limits; rather than failing at apply time, mlplane truncates and adds a
short hash of the full name, so the result is valid, stable and still unique.
"""

from __future__ import annotations

import hashlib
import re

LABEL_MAX = 63
SUBDOMAIN_MAX = 253
_HASH_CHARS = 8

_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]


def fit(name: str, max_length: int) -> str:
    """``name`` as it is, or cut to ``max_length`` characters ending in a hash of the whole."""
    if len(name) <= max_length:
        return name
    keep = name[: max_length - _HASH_CHARS - 1].rstrip("-.")
    return f"{keep}-{_short_hash(name)}"


def _sanitize(text: str, allowed: str) -> str:
    lowered = text.lower()
    cleaned = re.sub(f"[^{allowed}]+", "-", lowered)
    cleaned = re.sub(r"-{2,}", "-", cleaned)
    return cleaned.strip("-.")


def k8s_name(*parts: str, max_length: int = LABEL_MAX) -> str:
    """Make a DNS-1123 label from name parts, e.g. ``k8s_name("mnist", "train")``.

    Parts are joined with ``-``, lower-cased, and characters outside ``[a-z0-9-]`` become
    ``-``. A result longer than ``max_length`` is cut and suffixed with ``-`` and an
    8-character hash of the whole name, so distinct long names stay distinct.

    Args:
        *parts: Name parts; empty parts are skipped.
        max_length: The limit to fit (63 for labels; some kinds allow less).

    Returns:
        A valid DNS-1123 label of at most ``max_length`` characters.

    Raises:
        ValueError: When nothing usable is left of the parts.
    """
    if max_length < _HASH_CHARS + 2:
        raise ValueError(f"max_length must be at least {_HASH_CHARS + 2}, got {max_length}")
    joined = "-".join(p for p in (_sanitize(part, "a-z0-9") for part in parts) if p)
    if not joined:
        raise ValueError(f"cannot make a Kubernetes name from {parts!r}")
    return fit(joined, max_length)


def dns_subdomain(*parts: str, max_length: int = SUBDOMAIN_MAX) -> str:
    """Make a DNS-1123 subdomain (dots allowed), e.g. for ConfigMap or CRD names.

    Args:
        *parts: Name parts, joined with ``-``.
        max_length: The limit to fit (253 by default).

    Returns:
        A valid DNS-1123 subdomain of at most ``max_length`` characters.

    Raises:
        ValueError: When nothing usable is left of the parts.
    """
    joined = "-".join(p for p in (_sanitize(part, "a-z0-9.") for part in parts) if p)
    # Dropping a dash beside a dot can bring two dots together ("0.-.0"): repeat until stable.
    previous = None
    while previous != joined:
        previous = joined
        joined = re.sub(r"\.{2,}", ".", joined).replace("-.", ".").replace(".-", ".")
    if not joined:
        raise ValueError(f"cannot make a Kubernetes name from {parts!r}")
    return fit(joined, max_length).strip(".-") or _short_hash(joined)


def is_dns_label(value: str, max_length: int = LABEL_MAX) -> bool:
    """Whether ``value`` is a valid DNS-1123 label of at most ``max_length`` characters."""
    return len(value) <= max_length and bool(_LABEL_RE.match(value))


def is_dns_subdomain(value: str) -> bool:
    """Whether ``value`` is a valid DNS-1123 subdomain."""
    return len(value) <= SUBDOMAIN_MAX and bool(_SUBDOMAIN_RE.match(value))


def check_dns_label(value: str) -> str:
    """Validate a user-given name that must already be a DNS-1123 label.

    For use as a pydantic validator: names that users choose (namespaces, pool names)
    are checked, not silently rewritten.

    Args:
        value: The candidate name.

    Returns:
        The value unchanged.

    Raises:
        ValueError: When it is not a valid label.
    """
    if not is_dns_label(value):
        raise ValueError(
            "must be a DNS-1123 label: at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value
