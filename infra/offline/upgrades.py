"""What a release change (or a pinned version) does to each component, and where it skips a supported step.

Each plan's component versions are read from its charts and kustomize directories, so
any two plans compare, old ones included: a chart's version (Dex and oauth2-proxy by the
image tag the release sets), a kubeflow/manifests directory by its ``?ref=`` tag, which
the release trains (:mod:`components.platform.releases`) turn into the component's own
version. A component pinned to another version (``components.<key>.version``) shows as
what it is pinned to. Each change of version is set beside upstream's supported upgrade
step (:mod:`infra.offline.upgrade_steps`); a jump past it is a danger naming the
versions in between and the way through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mlplane.components.platform.releases import COMPONENT_KEYS, RELEASES, TITLES, ChartSource
from mlplane.components.sources import chart_name_of, directory_location
from mlplane.infra.offline.downgrades import CHART_TYPE, DIRECTORY_TYPE, version_key
from mlplane.infra.offline.plan import Plan, PlanResource
from mlplane.infra.offline.upgrade_steps import UPGRADE_STEPS, UpgradeStep

#: Charts whose version is not the component's: the release sets the image tag instead.
_IMAGE_TAGGED = frozenset({"dex", "oauth2_proxy"})


def _index() -> tuple[dict[str, str], dict[str, str]]:
    """Component keys by chart name and by kubeflow/manifests path, over every release train."""
    charts: dict[str, str] = {}
    paths: dict[str, str] = {}
    for release in RELEASES.values():
        for key, component in release.components.items():
            for source in component.sources:
                if isinstance(source, ChartSource):
                    charts[source.chart] = key
                else:
                    paths[source.path] = key
    return charts, paths


_CHARTS, _PATHS = _index()


@dataclass(frozen=True)
class ComponentVersion:
    """One component's version in one plan.

    Attributes:
        key: The component's key.
        title: What people call it (the training component by the project the path installs).
        version: The component's version (``1.29.0``), or the manifests ref where that
            ref is no release mlplane knows (``manifests v1.9.0``).
    """

    key: str
    title: str
    version: str


def _ref(directory: str) -> str | None:
    refs = parse_qs(urlsplit(directory).query).get("ref") if "?" in directory else None
    return refs[0] if refs else None


def _release_version(key: str, ref: str) -> str | None:
    """The component's own version in the release tagged ``ref`` (None: no such release or component)."""
    for release in RELEASES.values():
        if release.manifests_ref == ref and (component := release.get(key)) is not None:
            return component.app_version
    return None


def _of_resource(resource: PlanResource) -> ComponentVersion | None:
    inputs = resource.inputs
    if resource.type == CHART_TYPE and inputs.get("version"):
        version = str(inputs["version"])
        reference = str(inputs.get("chart", resource.name))
        key = _CHARTS.get(chart_name_of(reference, version) or "")
        if key is None:
            return None
        tag = ((inputs.get("values") or {}).get("image") or {}).get("tag") if key in _IMAGE_TAGGED else None
        shown = str(tag) if tag else (version if key not in _IMAGE_TAGGED else f"chart {version}")
        return ComponentVersion(key, TITLES[key], shown.removeprefix("v"))
    if resource.type == DIRECTORY_TYPE:
        directory = directory_location(str(inputs.get("directory", "")))
        key = next((k for path, k in sorted(_PATHS.items(), key=lambda item: -len(item[0]))
                    if f"/{path}" in directory or directory.startswith(path)), None)
        ref = _ref(directory)
        if key is None or ref is None:
            return None
        title = TITLES[key]
        if key == "training":
            title = "Trainer" if "/trainer/" in directory else "Training Operator"
        known = _release_version(key, ref)
        return ComponentVersion(key, title, known if known else f"manifests {ref}")
    return None


def component_versions(plan: Plan | None) -> dict[str, ComponentVersion]:
    """Each platform component's version in ``plan``, by key (the highest where its sources differ)."""
    found: dict[str, ComponentVersion] = {}
    for resource in plan or ():
        version = _of_resource(resource)
        if version is None:
            continue
        seen = found.get(version.key)
        if seen is None or (version_key(version.version) or ()) > (version_key(seen.version) or ()):
            found[version.key] = version
    return found


@dataclass(frozen=True)
class ComponentChange:
    """A component whose version differs between the plans, with upstream's supported step.

    Attributes:
        key: The component's key.
        title: Its name (after the change, where it has one).
        before: Its version before (None: new).
        after: Its version after (None: removed).
        step: Upstream's supported upgrade step for it.
        danger: Why the change is unsafe (it skips a supported step), or "".
        between: The versions a supported path passes through (``1.18``, ...).
        before_title: Its name before, where another project replaces it (Training Operator).
    """

    key: str
    title: str
    before: str | None
    after: str | None
    step: UpgradeStep
    danger: str = ""
    between: tuple[str, ...] = ()
    before_title: str = ""

    def to_json(self) -> dict[str, Any]:
        """The change as the JSON diff's ``release.components`` entry."""
        data: dict[str, Any] = {"component": self.key, "title": self.title, "before": self.before,
                                "beforeTitle": self.before_title or self.title,
                                "after": self.after, "step": self.step.step, "source": self.step.source}
        if self.danger:
            data["danger"] = self.danger
            data["between"] = list(self.between)
        return data

    def line(self) -> str:
        """``Istio 1.17.3 → 1.29.0``, ``Model Registry: new, 0.3.7``."""
        if self.before is None:
            return f"{self.title}: new, {self.after}"
        if self.after is None:
            return f"{self.title}: removed (was {self.before})"
        if self.before_title and self.before_title != self.title:
            return f"{self.before_title} {self.before} → {self.title} {self.after}"
        return f"{self.title} {self.before} → {self.after}"


def _minor(version: str) -> tuple[int, int] | None:
    key = version_key(version)
    return (key[0], key[1] if len(key) > 1 else 0) if key else None


def _way(step: UpgradeStep, installer: str, between: tuple[str, ...]) -> str:
    listed = ", ".join(f"{v}.x" for v in between)  # each at its latest patch
    if installer == "chart":
        return (f"pin mlplane:kubeflow.components.{step.key}.version to each of {listed} in turn and apply each "
                "(pulumi up) before this change, or install the new release on a new cluster and move the work")
    return (f"upgrade through {listed} outside this plan first (kubeflow/manifests' releases do not carry every "
            "version), or install the new release on a new cluster and move the work")


def judged(change: ComponentChange) -> ComponentChange:
    """``change`` with its danger, where the jump skips upstream's supported step."""
    step, before, after = change.step, change.before or "", change.after or ""
    old, new = _minor(before), _minor(after)
    if old is None or new is None or new <= old:
        return change  # unknown versions, or not an upgrade (downgrades have their own warning)
    installer = next(iter(r.get(step.key).installer for r in RELEASES.values() if r.get(step.key) is not None))
    if old[0] != new[0] and step.major_change:
        source = step.source.split("; ")[-1].split(" ", 1)[0]
        return replace(change, danger=f"{change.line()}: {step.major_change} ({source})")
    for stop in step.stops:
        mark = _minor(stop)
        if mark is not None and old < mark < new:
            return replace(change, between=(stop,), danger=(
                f"{change.line()} skips {stop}, which upstream requires on the way ({step.step}). "
                f"The way: {_way(step, installer, (stop,))}"))
    if step.minor_hops is None or old[0] != new[0] or new[1] - old[1] <= step.minor_hops:
        return change
    between = tuple(f"{old[0]}.{minor}" for minor in range(old[1] + 1, new[1]))
    said = (f"{change.line()} skips {len(between)} minor version{'s' if len(between) != 1 else ''} "
            f"({', '.join(between)}); upstream supports {step.step}")
    if step.in_place_only:
        said += f"; {step.in_place_only}: this is {new[1] - old[1]} in-place hops"
    return replace(change, between=between, danger=f"{said}. The way: {_way(step, installer, between)}")


def component_changes(old: Plan | None, new: Plan | None) -> tuple[ComponentChange, ...]:
    """Every component whose version differs between the plans, in install order."""
    before, after = component_versions(old), component_versions(new)
    changes = []
    for key in COMPONENT_KEYS:
        was, now = before.get(key), after.get(key)
        if was is None and now is None or (was and now and was.version == now.version and was.title == now.title):
            continue
        change = ComponentChange(key, (now or was).title, was.version if was else None,
                                 now.version if now else None, UPGRADE_STEPS[key],
                                 before_title=was.title if was and now and was.title != now.title else "")
        changes.append(judged(change) if was and now else change)
    return tuple(changes)


def dangers(changes: Iterable[ComponentChange]) -> list[ComponentChange]:
    """The component changes that skip a supported step."""
    return [c for c in changes if c.danger]
