"""Generating each store's credential per stack (pulumi-random), stable until a rotation is asked for.

A ``RandomPassword`` keeps its value in the stack's state; it changes only when it is
replaced, which its ``keepers`` trigger (pulumi-random ``RandomPassword``: "Arbitrary map of
values that, when changed, will trigger recreation of resource"). The keeper is the
stack's rotation token for the store (``mlplane:kubeflow.credentials.rotate``), so a new
token rotates exactly that store, and every render of the same stack gives the same values.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_random as random

from mlplane.components.credentials.stores import Store


def generate(name: str, stores: tuple[Store, ...], rotate: Mapping[str, str], parent: pulumi.Resource
             ) -> dict[str, dict[str, pulumi.Output[str]]]:
    """A generated value for every key of ``stores``.

    Args:
        name: Prefix of the Pulumi names (``f"{name}-{store}-{key}"``).
        stores: The stores to generate for.
        rotate: Rotation token by store id (absent: never rotated).
        parent: The component that owns the passwords.

    Returns:
        Secret outputs by store id, then Secret key.
    """
    values: dict[str, dict[str, pulumi.Output[str]]] = {}
    for store in stores:
        keepers = {"rotation": rotate[store.id]} if store.id in rotate else None
        values[store.id] = {
            key.key: pulumi.Output.secret(random.RandomPassword(
                f"{name}-{store.id}-{key.key.lower().replace('_', '-')}", length=key.length, special=False,
                keepers=keepers, opts=pulumi.ResourceOptions(parent=parent)).result)
            for key in store.keys
        }
    return values


def generate_profile_keys(name: str, namespaces: tuple[str, ...], rotation: str | None, parent: pulumi.Resource
                          ) -> dict[str, pulumi.Output[str]]:
    """A generated MinIO secret key per declared profile (``components/credentials/profile_identities.py``).

    Args:
        name: Prefix of the Pulumi names (``f"{name}-kfp-profile-{namespace}-secretkey"``).
        namespaces: The profiles.
        rotation: The object store's rotation token (``kfp-object-store``; None: never rotated):
            rotating the store rotates every profile's key with it.
        parent: The component that owns the passwords.

    Returns:
        Secret outputs by namespace (40 letters and digits: MinIO's own generated length,
        ``pkg/auth/credentials.go`` ``secretKeyMaxLen``).
    """
    keepers = {"rotation": rotation} if rotation is not None else None
    return {ns: pulumi.Output.secret(random.RandomPassword(
        f"{name}-kfp-profile-{ns}-secretkey", length=40, special=False, keepers=keepers,
        opts=pulumi.ResourceOptions(parent=parent)).result) for ns in namespaces}
