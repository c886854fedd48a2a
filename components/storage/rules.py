"""The storage rules every claim obeys, however it is declared: pure functions.

A claim comes from the stack (``mlplane:storage.volumes``), from a pipeline's volume
step, from a KFP v1 ``VolumeOp`` (converted to a volume step), or from any component
that mounts its own volume (notebooks): each is checked by :func:`claim_issues` with the
stack's classes, and protected by :func:`claim_protected`. The config rules report the
issues with their key paths; nothing else decides what a claim may be.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlplane.components.base import Issue
from mlplane.components.storage.spec import check_storage_size


def claim_issues(*, size: str, access_modes: Sequence[str], storage_class: str | None,
                 classes: Sequence[Any]) -> list[Issue]:
    """What is wrong with a claim of ``size`` and ``access_modes`` on ``storage_class``.

    Args:
        size: The requested storage (a Kubernetes quantity).
        access_modes: The claim's access modes.
        storage_class: Its class; None: the cluster's default class, which the plan does
            not know (only the size is checked then).
        classes: The stack's classes (``mlplane:storage.classes``).

    Returns:
        Issues with paths ``("size",)``, ``("storage_class",)`` or ``("access_modes",)``.
    """
    issues = []
    try:
        check_storage_size(size)
    except ValueError as exc:
        issues.append(Issue(("size",), str(exc), size, "a positive size such as 10Gi"))
    if storage_class is None:
        return issues
    by_name = {cls.name: cls for cls in classes}
    cls = by_name.get(storage_class)
    if cls is None:
        issues.append(Issue(("storage_class",), "not a class of mlplane:storage.classes", storage_class,
                            ", ".join(by_name) or "none declared; add mlplane:storage.classes"))
        return issues
    unsupported = [mode for mode in access_modes if mode not in cls.access_modes]
    if unsupported:
        message = ("only NFS classes can be mounted read-write by many nodes" if "ReadWriteMany" in unsupported
                   else f"{cls.kind} volumes cannot be mounted {', '.join(unsupported)}")
        issues.append(Issue(("access_modes",), f"{message} (class {storage_class!r} is {cls.kind})",
                            list(access_modes), ", ".join(cls.access_modes)))
    return issues


def claim_protected(own: bool | None, stack_protect: bool) -> bool:
    """Whether a claim is protected: its own switch, else the stack's (``mlplane:storage.protect``)."""
    return stack_protect if own is None else own


#: Access modes under which the attach/detach controller refuses a second node: any of them
#: on the volume, even beside ReadOnlyMany (kubernetes/kubernetes pkg/controller/volume/
#: attachdetach/reconciler/reconciler.go: isMultiAttachAllowed returns false as soon as the
#: PersistentVolume lists ReadWriteOnce or ReadWriteOncePod).
_ONE_NODE_MODES = frozenset({"ReadWriteOnce", "ReadWriteOncePod"})


def one_node_claim(access_modes: Sequence[str], storage_class: str | None, classes: Sequence[Any]) -> bool:
    """Whether a claim's volume can be attached to one node only, so pods of it on two nodes never
    both start (the second waits on "Multi-Attach error").

    True for a class whose volumes are attached block devices (``attaches_to_one_node``:
    gce-pd, ebs, azure-disk) and a claim with ReadWriteOnce or ReadWriteOncePod among its
    modes.
    False where the class is unknown to the plan (the cluster's default): nothing is
    claimed that the plan cannot know.
    """
    cls = next((c for c in classes if c.name == storage_class), None)
    if cls is None or not getattr(cls, "attaches_to_one_node", False):
        return False
    return bool(_ONE_NODE_MODES & set(access_modes))
