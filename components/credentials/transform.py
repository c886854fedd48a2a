"""Writing generated credentials into a Kubeflow directory's objects, as a Pulumi resource transform.

The engine's mechanism: a ``transforms`` resource option on the ``kustomize.v2.Directory``.
pulumi-kubernetes' v2 directories and v4 charts are multi-language components whose
children the engine registers on the program's behalf, and Pulumi runs a resource's
``transforms`` for it and every child (pulumi/pulumi-kubernetes v4.32.0:
``provider/pkg/gen/examples/overlays/chartV4.md`` "This allows you to apply Pulumi
Transformations ... to the Kubernetes resources"; ``tests/sdk/nodejs/testdata/await/
cert-manager/index.ts`` patches a ``yaml.v2.ConfigFile``'s children with ``transforms``,
the register path ``kustomize.v2.Directory`` and ``helm.v4.Chart`` share in
``provider/pkg/provider/yaml/v2/yaml.go``). The legacy ``transformations`` argument of the
v1 components does not exist on v2 (CHANGELOG 4.10.0).

:func:`patch_object` is the whole change, a pure function on one object's properties;
:func:`credential_transform` wraps it as the ``ResourceTransform`` that is registered.
The offline expansion (``infra/offline/expand``) calls that registered function itself on
every expanded child (the SDK's mock monitor does not run transforms), so there is one
code path for both.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from mlplane.components.base import PUBLISHED_MASK, SECRET_MASK
from mlplane.components.credentials.profile_identities import patch_controller
from mlplane.components.credentials.stores import ALLOW_EMPTY, Store

MASKS = (PUBLISHED_MASK, SECRET_MASK)

#: Marks a transform as mlplane's credential transform (tests find every registered one by it).
CREDENTIAL_TRANSFORM = "_mlplane_credentials"
#: Pod-template annotation of every workload that reads a store's Secret: its value changes
#: with the credential's generation (the rotation token), so the workload restarts and reads
#: the new value (env from a Secret is read at container start).
GENERATION_ANNOTATION = "mlplane.dev/credentials-{store}"
#: SeaweedFS (26.03): the identity upstream's bootstrap configures from the Secret.
SEAWEEDFS_ADMIN = "kubeflow-admin"
_S3_CONFIGURE = "s3.configure -user kubeflow-admin -access_key $accesskey"
#: Removes the identity with every key it holds (the published minio/minio123, any rotated
#: one) before the bootstrap adds it back with the current key: ``s3.configure -user X -delete``
#: without actions, keys or buckets drops the identity (seaweedfs ``weed/shell/
#: command_s3_configure.go``), and adding a key to an existing identity keeps the old keys.
_DROP_IDENTITY = f'echo "s3.configure -user {SEAWEEDFS_ADMIN} -delete -apply" | /usr/bin/weed shell 2>&1 || true\n'


def _plain(value: Any) -> Any:
    return unwrap_rpc_secret(value) if is_rpc_secret(value) else value


def _secret_patch(obj: Mapping[str, Any], store: Store, values: Mapping[str, Any]) -> dict[str, Any]:
    """The store's Secret with every generated key set and the other keys kept (as stringData)."""
    patched = copy.deepcopy({k: v for k, v in obj.items() if k not in ("data", "stringData")})
    kept: dict[str, Any] = {}
    for key, value in (_plain(obj.get("data")) or {}).items():
        value = _plain(value)
        # Offline, the expansion has already masked upstream's literals (a marker, not base64).
        kept[key] = value if value in MASKS else base64.b64decode(str(value)).decode()
    kept.update({k: _plain(v) for k, v in (_plain(obj.get("stringData")) or {}).items()})
    kept.update({k.key: values[k.key] for k in store.keys})
    # pulumi-kubernetes makes a Secret's stringData secret as a whole (yaml/v2 register);
    # the generated values are secret outputs themselves.
    patched["stringData"] = kept
    return patched


def _database_patch(obj: Mapping[str, Any], store: Store) -> dict[str, Any] | None:
    """The database's Deployment: root password from the Secret, no empty-password permission
    (None when it has both already: the model registry's reads them through envFrom)."""
    patched = copy.deepcopy(dict(obj))
    key = store.keys[0].key
    for container in patched["spec"]["template"]["spec"]["containers"]:
        env = [e for e in container.get("env") or [] if e.get("name") not in (ALLOW_EMPTY, store.password_env)]
        # The model registry's database reads the whole Secret (envFrom): the key is its env var already.
        from_secret = store.password_env == key and any(
            (ref.get("secretRef") or {}).get("name") == store.secret for ref in container.get("envFrom") or [])
        if not from_secret:
            env.append({"name": store.password_env, "valueFrom": {"secretKeyRef": {"name": store.secret, "key": key}}})
        if env != (container.get("env") or []):
            container["env"] = env
    return patched if patched != obj else None


def reads_secret(pod: Mapping[str, Any], secret: str) -> bool:
    """Whether a pod spec reads the Secret `secret` (env `secretKeyRef` or `envFrom`)."""
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        if any((ref.get("secretRef") or {}).get("name") == secret for ref in container.get("envFrom") or []):
            return True
        if any(((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == secret
               for e in container.get("env") or []):
            return True
    return False


def _restart_with(obj: dict[str, Any], store: Store, mark: str) -> dict[str, Any]:
    """``obj`` (a copy) with its pod template marked by the credential's generation, and
    SeaweedFS's bootstrap dropping the identity's old keys first."""
    template = obj["spec"]["template"]
    metadata = template.setdefault("metadata", {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}),
                               GENERATION_ANNOTATION.format(store=store.id): mark}
    for container in template["spec"].get("containers") or []:
        command = (((container.get("lifecycle") or {}).get("postStart") or {}).get("exec") or {}).get("command")
        if command and _S3_CONFIGURE in command[-1] and _DROP_IDENTITY not in command[-1]:
            at = command[-1].index("# Configure admin user") if "# Configure admin user" in command[-1] else 0
            command[-1] = command[-1][:at] + _DROP_IDENTITY + command[-1][at:]
    return obj


def _parameters_patch(obj: Mapping[str, Any]) -> dict[str, Any]:
    patched = copy.deepcopy(dict(obj))
    patched["data"] = {k: v for k, v in (obj.get("data") or {}).items() if k != ALLOW_EMPTY}
    return patched


def patch_object(obj: Mapping[str, Any], stores: tuple[Store, ...], values: Mapping[str, Mapping[str, Any]],
                 marks: Mapping[str, str] | None = None, profiles: tuple[str, ...] | None = None
                 ) -> dict[str, Any] | None:
    """One expanded object with the stores' generated credentials written in, or None if unchanged.

    Args:
        obj: A Kubernetes object as the directory renders it (``apiVersion``, ``kind``, ...).
        stores: The stores whose credentials this directory ships.
        values: Generated values by store id, then Secret key (strings or secret Outputs).
        marks: The credential's generation by store id (the rotation token; default
            ``"generated"``): every workload reading the store's Secret carries it.
        profiles: Declared profiles that get a MinIO identity of their own (1.8.1's KFP;
            :mod:`~mlplane.components.credentials.profile_identities`): its profile
            controller writes each its own key (and no key to any other namespace), and
            artifacts go under each one's prefix. None: not a MinIO train, nothing patched.

    Returns:
        A patched copy (``obj`` is not changed), or None when the object is not a consumer.
    """
    if profiles is not None and (own := patch_controller(obj, profiles)) is not None:
        return patch_object(own, stores, values, marks) or own
    kind = obj.get("kind")
    name = (obj.get("metadata") or {}).get("name")
    patched: dict[str, Any] | None = None
    for store in stores:
        if kind == "Secret" and name == store.secret:
            return _secret_patch(obj, store, values[store.id])
        if kind == "ConfigMap" and name == store.parameters:
            return _parameters_patch(obj)
        if kind in ("Deployment", "StatefulSet"):
            current = patched or obj
            if name == store.database:
                patched = _database_patch(current, store) or patched
            pod = (((patched or obj).get("spec") or {}).get("template") or {}).get("spec") or {}
            if reads_secret(pod, store.secret):
                patched = _restart_with(copy.deepcopy(dict(patched or obj)), store,
                                        (marks or {}).get(store.id, "generated"))
    return patched


def credential_transform(stores: tuple[Store, ...], values: Mapping[str, Mapping[str, Any]],
                         marks: Mapping[str, str] | None = None, profiles: tuple[str, ...] | None = None
                         ) -> pulumi.ResourceTransform:
    """The ``ResourceTransform`` registered on a directory: :func:`patch_object` on each child.

    Args:
        stores: The stores whose credentials the directory ships.
        values: Generated values by store id, then Secret key.
        marks: The credential's generation by store id (see :func:`patch_object`).
        profiles: Profiles with a MinIO identity of their own (see :func:`patch_object`).
    """
    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom or not isinstance(args.props, Mapping):
            return None
        patched = patch_object(args.props, stores, values, marks, profiles)
        return None if patched is None else pulumi.ResourceTransformResult(props=patched, opts=args.opts)

    setattr(transform, CREDENTIAL_TRANSFORM, tuple(s.id for s in stores))
    return transform
