"""``mlplane images``: every image the expanded plan runs, where, and the ``digests`` skeleton to fill.

mlplane never resolves a digest (that needs the registry, and trusting whatever answers);
the team resolves each with its own tool (``crane digest IMAGE``) and fills the skeleton.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import yaml

from mlplane.components.images.refs import parse
from mlplane.infra.config import StackConfig
from mlplane.infra.config.images import SECTION
from mlplane.infra.offline.plan import Plan
from mlplane.policy.images import ImageUse, image_uses

FORMATS = ("yaml", "json")
#: Uses listed per image in the YAML comments (the JSON lists all).
_SHOWN = 3


@dataclass
class ListedImage:
    """One image as the plan names it before pinning, its digest and where it comes from.

    ``source``: ``stack`` (``mlplane:images.digests``), ``upstream`` (the object names it with a
    digest already), ``untagged`` (no tag: cannot be a key) or None (tag alone: to fill).
    """

    image: str
    digest: str | None
    source: str | None
    uses: list[ImageUse] = field(default_factory=list)


def listed_images(config: StackConfig, plan: Plan) -> list[ListedImage]:
    """The plan's images, sorted, each with every use (see :class:`ListedImage`)."""
    found: dict[str, ListedImage] = {}
    digests = config.images.digests
    for use in image_uses(plan):
        ref = parse(use.image)
        base, _, digest = use.image.partition("@")
        if ref is None or (ref.tag is None and ref.digest is None):
            entry = found.setdefault(use.image, ListedImage(use.image, None, "untagged"))
        elif digest and digests.get(base) == digest:
            entry = found.setdefault(base, ListedImage(base, digest, "stack"))
        elif digest:
            entry = found.setdefault(use.image, ListedImage(use.image, digest, "upstream"))
        else:
            entry = found.setdefault(use.image, ListedImage(use.image, None, None))
        entry.uses.append(use)
    return [found[key] for key in sorted(found)]


#: istiod's injection values (istio charts ``templates/istiod-injector-configmap.yaml``).
_INJECTOR = "istio-sidecar-injector"


def injected_images(plan: Plan) -> list[str]:
    """The sidecar image istiod injects at admission, as ``<hub>/<proxy.image>:<tag>`` from its
    injection values (istio/istio ``pkg/kube/inject/inject.go``: ``ProxyImage``, ``imageURL``);
    not in any object of the plan, so no digest entry reaches it."""
    found = set()
    for resource in plan:
        data = resource.inputs.get("data")
        if resource.inputs.get("kind") == "ConfigMap" and isinstance(data, dict) \
                and (resource.inputs.get("metadata") or {}).get("name") == _INJECTOR \
                and isinstance(data.get("values"), str):
            try:
                values = json.loads(data["values"]).get("global") or {}
            except ValueError:
                continue
            image = (values.get("proxy") or {}).get("image") or "proxyv2"
            if values.get("hub") and values.get("tag"):
                found.add(f"{values['hub']}/{image}:{values['tag']}")
    return sorted(found)


def _where(uses: Iterable[ImageUse]) -> str:
    items = list(uses)
    shown = "; ".join(f"{u.resource} {u.path}" for u in items[:_SHOWN])
    return shown + (f" (+{len(items) - _SHOWN} more)" if len(items) > _SHOWN else "")


def format_images(config: StackConfig, plan: Plan, fmt: str, unexpanded: int = 0) -> str:
    """The listing in ``fmt`` (``yaml``: a commented skeleton to paste under ``config:``;
    ``json``: ``{"stack", "images": [{"image", "digest", "source", "uses": [{"resource",
    "path"}]}], "digests"}``). ``unexpanded``: charts and directories whose images are unknown."""
    images = listed_images(config, plan)
    skeleton = {i.image: i.digest or "" for i in images if i.source in (None, "stack")}
    if fmt == "json":
        return json.dumps({
            "stack": config.source.stack,
            "images": [{"image": i.image, "digest": i.digest, "source": i.source,
                        "uses": [{"resource": u.resource, "path": u.path} for u in i.uses]} for i in images],
            "digests": skeleton, "injected": injected_images(plan), "unexpanded": unexpanded}, indent=2, sort_keys=True) + "\n"
    todo = sum(1 for i in images if i.source is None)
    lines = [f"# Images the plan of stack {config.source.stack} runs: {len(images)} ({todo} pinned by tag alone, "
             f"{sum(1 for i in images if i.source == 'stack')} by {SECTION}.digests, "
             f"{sum(1 for i in images if i.source == 'upstream')} by digest upstream).",
             "# Fill each \"\" with the image's digest from your registry (e.g. `crane digest IMAGE`) and put",
             f"# this under `config:` in {config.source.display}; mlplane resolves no digest itself."]
    if unexpanded:
        lines.append(f"# {unexpanded} chart(s)/directory(ies) were not expanded (no sources at hand): their "
                     "images are missing here; pass --sources.")
    lines += [f"{SECTION}:", "  digests:"]
    for image in images:
        if image.source in (None, "stack"):
            lines.append(f"    # {_where(image.uses)}")
            lines.append("    " + yaml.safe_dump({image.image: image.digest or ""}, width=10_000).strip())
    if not skeleton:
        lines[-1] += " {}"
    for source, title in (("upstream", "pinned by digest upstream (no entry needed)"),
                          ("untagged", "without a tag (cannot be an entry: pin it where it is set)")):
        chosen = [i for i in images if i.source == source]
        if chosen:
            lines.append(f"# Images {title}:")
            lines += [f"#   {i.image}  ({_where(i.uses)})" for i in chosen]
    lines += [f"# Injected by istiod at admission, named by hub and tag (cannot be pinned here): {image}"
              for image in injected_images(plan)]
    return "\n".join(lines) + "\n"
