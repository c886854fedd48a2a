"""Rules of credentials: KFP access from notebooks, and artifact identities never shared between profiles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mlplane.components.base import SecretValue
from mlplane.components.credentials.stores import published_values
from mlplane.components.platform.resolve import resolve
from mlplane.components.storage.profile_access import shared_identities
from mlplane.infra.config.rules import Finding, rule
from mlplane.infra.config.workbenches import workbench_namespaces

if TYPE_CHECKING:
    from mlplane.infra.config.stack import StackConfig

SECTION = "mlplane:kubeflow"


@rule
def pipelines_access_needs_pipelines_and_notebooks(config: "StackConfig") -> Iterator[Finding]:
    """A profile's ``pipelines_access`` needs KFP (the API) and notebooks (the PodDefault webhook)."""
    if config.kubeflow is None:
        return
    components = resolve(config.kubeflow)
    missing = [key for key in ("pipelines", "notebooks") if not components[key].enabled]
    for index, profile in enumerate(config.kubeflow.profiles):
        if profile.pipelines_access and missing:
            yield Finding((SECTION, "profiles", index, "pipelines_access"),
                          f"needs components {' and '.join(missing)}, which are off", True,
                          "pipelines_access: false, or enable " + " and ".join(missing))


@rule
def artifact_access_never_shares_an_identity(config: "StackConfig") -> Iterator[Finding]:
    """Each profile's ``artifact_access`` gets an identity no other namespace has."""
    storage, workbenches = getattr(config, "storage", None), getattr(config, "workbenches", None)
    store = getattr(storage, "artifacts", None) if storage is not None else None
    if store is None or workbenches is None:
        return
    profiles = workbench_namespaces(config)
    shared = {profile: (other, name) for profile, other, name in
              shared_identities(store.kind, store, config.cluster.workload_namespace, profiles)}
    for index, notebook in enumerate(workbenches.notebooks):
        if notebook.artifact_access and notebook.profile in shared:
            other, name = shared[notebook.profile]
            yield Finding(("mlplane:workbenches", "notebooks", index, "artifact_access"),
                          f"profile {notebook.profile!r} would share the artifact identity {name!r} with "
                          f"namespace {other!r}", True,
                          "profiles whose names give distinct identities (a profile never gets the platform's "
                          "own identity), or artifact_access: false")


def _secret_values(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], SecretValue]]:
    """Every :class:`SecretValue` inside a validated config model, with its key path."""
    if isinstance(value, SecretValue):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_values(getattr(value, name), (*path, name))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _secret_values(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_values(item, (*path, key))


@rule
def no_published_default_is_set(config: "StackConfig") -> Iterator[Finding]:
    """A secret the stack sets is never a value an upstream source publishes (minio123, test, ...)."""
    published = published_values()
    for section in type(config).model_fields:
        for path, secret in _secret_values(getattr(config, section), (f"mlplane:{section}",)):
            value = secret.reveal()
            if value is not None and value in published:
                # Published, so not a secret: naming it helps the user find it.
                yield Finding(path, f"is {value!r}, a credential upstream publishes (docs/security.md, credential "
                                    "inventory)", True,
                              "a value of your own (or leave it unset where mlplane generates one)")
