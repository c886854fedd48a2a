"""Reading rendered YAML streams into plain objects, as the provider decodes them."""

from __future__ import annotations

import re
from typing import Any

import yaml

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe YAML without the timestamp type: Kubernetes objects are JSON, so a date stays a string."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}


#: Helm's ``releaseutil.SplitManifests`` separator: ``---`` at a line start, whatever follows
#: on that line (charts write ``---# comment``, which a YAML parser would not split on).
_HELM_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def helm_objects(text: str, origin: str) -> list[dict[str, Any]]:
    """The objects of one rendered template, split as Helm splits it."""
    found: list[dict[str, Any]] = []
    for piece in _HELM_SEPARATOR.split(text):
        if piece.strip():
            found.extend(objects(piece, origin))
    return found


class DocumentError(ValueError):
    """A rendered stream is not YAML, or holds something that is not an object."""


def objects(text: str, origin: str) -> list[dict[str, Any]]:
    """The objects of a YAML stream, empty documents skipped, ``List`` kinds expanded.

    Expanding lists and skipping empty documents is what pulumi-kubernetes' yaml/v2 does
    (``provider/pkg/provider/yaml/v2/yaml.go``: ``yamlDecode`` and ``expand``).

    Raises:
        DocumentError: Not YAML, or a document is not a mapping.
    """
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        raise DocumentError(f"{origin}: not valid YAML ({exc})") from None
    found: list[dict[str, Any]] = []
    pending = [d for d in documents if d]
    while pending:
        document = pending.pop(0)
        if not isinstance(document, dict):
            raise DocumentError(f"{origin}: a document is a {type(document).__name__}, not a Kubernetes object")
        kind = document.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(document.get("items"), list):
            pending[:0] = [item for item in document["items"] if item]
            continue
        found.append(document)
    return found
