"""Where an object's properties name container images, and which images those are.

An image reference follows the grammar of distribution/reference (v0.6.0 ``regexp.go``:
``domainAndPort``, ``pathComponent``, ``tag``, ``digest``): ``[domain[:port]/]path[:tag][@digest]``.
Images hide in more places than a container's ``image``; scanning both trains' expanded plans
found them in:

- ``image`` fields anywhere: containers, initContainers and ephemeralContainers of every pod
  template (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs) and of custom resources
  (KServe's ClusterServingRuntimes and ClusterStorageContainers, Kubeflow Trainer's runtimes,
  Argo templates, Notebooks);
- environment values whose name says image (KFP's ``V2_LAUNCHER_IMAGE``/``V2_DRIVER_IMAGE``,
  the volumes web app's ``VOLUME_VIEWER_IMAGE``) and arguments (Argo's ``--executor-image``,
  cert-manager's ``--acme-http01-solver-image``);
- ConfigMap values, as a value of their own (KFP's ``cacheImage``, Knative's
  ``queue-sidecar-image``, the TensorBoard controller's ``TENSORBOARD_IMAGE``) or inside
  embedded JSON or YAML (KServe's ``inferenceservice-config``: storage initializer, agent,
  router, batcher, logger; Katib's ``katib-config.yaml`` suggestion and metrics-collector
  images and its trial templates; the Jupyter web app's ``spawner_ui_config.yaml``).

A token in free text counts as an image when it has a tag or digest and either a ``/`` (a
repository path) or an image context (the key, env var name or ``image:`` before it says
image): ``ml-pipeline.kubeflow:8888`` is a host and port, not an image. Not scanned:
``metadata`` (labels and annotations run nothing), CustomResourceDefinitions (schemas),
Secrets, and ConfigMap keys named ``_example`` (knative/pkg ``configmap/example.go``:
``ExampleKey``, documentation that controllers skip).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
#: The only digest algorithm mlplane accepts (what registries and ``crane digest`` report).
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{DIGEST.pattern}))?")
#: Characters of a reference; a token is a maximal run of them (``=``, quotes, spaces and
#: commas separate: ``--executor-image=quay.io/argoproj/argoexec:v3.7.3``).
_TOKEN = re.compile(r"[A-Za-z0-9._/:@\[\]-]+")
#: ``image: X``, ``"image": "X"``, ``--foo-image=X``: the token after it is an image.
_IMAGE_BEFORE = re.compile(r"image['\"]?\s*[:=]\s*['\"]?$", re.IGNORECASE)
#: How far before a token ``image:`` is looked for (characters).
_LOOKBEHIND = 32
#: Istio's injection placeholder: istiod's template sets the proxy image at admission.
INJECTED = "auto"
_SKIPPED_KEYS = frozenset({"metadata", "_example"})
_SKIPPED_KINDS = frozenset({"CustomResourceDefinition", "Secret"})


@dataclass(frozen=True)
class Reference:
    """A parsed image reference: ``name`` (with registry), ``tag`` and ``digest`` (None when absent)."""

    name: str
    tag: str | None
    digest: str | None


@dataclass(frozen=True)
class Use:
    """One place an object names an image: ``path`` like ``spec.template.spec.containers[0].image``."""

    path: str
    image: str


def parse(text: str) -> Reference | None:
    """``text`` as an image reference, or None when it is not one (digests: sha256 only)."""
    match = REFERENCE.fullmatch(text)
    if match is None:
        return None
    return Reference(match["name"], match["tag"], match["digest"])


def _image_context(key: str) -> bool:
    return "image" in key.lower()


def _in_text(text: str, context: bool) -> Iterator[tuple[int, int]]:
    """Spans of the image tokens in ``text`` (see the module docstring for what counts)."""
    for token in _TOKEN.finditer(text):
        ref = parse(token.group())
        if ref is None or (ref.tag is None and ref.digest is None) or "://" in text[token.start():token.end() + 3]:
            continue
        if "/" in ref.name or context or _IMAGE_BEFORE.search(text[max(0, token.start() - _LOOKBEHIND):token.start()]):
            yield token.span()


#: ``on_string(path, text, key, context) -> text``: called for each string in scope.
OnString = Callable[[str, str, str, bool], str]


def rewrite(obj: Mapping[str, Any], on_string: OnString) -> Any:
    """``obj`` with every string in scope replaced by ``on_string(path, text, key, context)``.

    ``key`` is the mapping key the string sits under (``image`` for an image field);
    ``context`` says the key (or the env var's name) mentions an image. Out-of-scope parts
    (see the module docstring) are left alone. Returns ``obj`` itself when nothing changed.
    """
    if obj.get("kind") in _SKIPPED_KINDS:
        return obj

    def walk(value: Any, path: str, key: str, context: bool) -> Any:
        if isinstance(value, str):
            return on_string(path, value, key, context)
        if isinstance(value, Mapping):
            env_image = isinstance(value.get("name"), str) and _image_context(value["name"])
            out = {k: v if k in _SKIPPED_KEYS else walk(v, f"{path}.{k}" if path else str(k), str(k),
                                                         _image_context(str(k)) or (env_image and k == "value"))
                   for k, v in value.items()}
            return value if all(out[k] is value[k] for k in value) else out
        if isinstance(value, list):
            items = [walk(v, f"{path}[{i}]", key, context) for i, v in enumerate(value)]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        return value

    return walk(obj, "", "", False)


def spans(text: str, key: str, context: bool) -> list[tuple[int, int]]:
    """Where ``text`` names images: the whole of an ``image`` field (whatever its form, an
    untagged one too, so a policy can refuse it; not Istio's ``auto``), else the tokens the
    module docstring describes."""
    if key == "image":
        return [] if text == INJECTED else [(0, len(text))]
    return list(_in_text(text, context))


def uses(obj: Mapping[str, Any]) -> list[Use]:
    """Every place ``obj`` (a Kubernetes object's properties) names an image, in document order."""
    found: list[Use] = []

    def record(path: str, text: str, key: str, context: bool) -> str:
        found.extend(Use(path, text[a:b]) for a, b in spans(text, key, context))
        return text

    rewrite(obj, record)
    return found
