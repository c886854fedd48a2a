"""The documented exceptions to mlplane's rules, by name, each with its reason.

An exception names the policy, the object's kind and ``metadata.name`` (a glob where
the name carries a pool name), and exactly what it waives: Pod Security checks by id, or
the hostPath paths the object may mount. Nothing else about the object is waived.
``tests/test_policy_stacks.py`` fails if an exception is no longer used by any stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from mlplane.policy.rules.base import kind_of, object_name


@dataclass(frozen=True)
class Exemption:
    """One documented exception.

    Attributes:
        policy: The policy it applies to.
        kind: The object's kind (``DaemonSet``).
        name: Glob over the object's ``metadata.name``.
        waives: What is waived: Pod Security check ids, or hostPath paths.
        reason: Why the object needs it.
    """

    policy: str
    kind: str
    name: str
    waives: frozenset[str]
    reason: str

    def covers(self, type_: str, props: Mapping[str, Any]) -> bool:
        """Whether this exception is about this object."""
        return kind_of(type_) == self.kind and fnmatchcase(object_name(props), self.name)


_DEVICE_PLUGIN_SOCKET = "/var/lib/kubelet/device-plugins"

EXEMPTIONS: tuple[Exemption, ...] = (
    Exemption(
        "pod-security-restricted", "DaemonSet", "amd-gpu-device-plugin",
        frozenset({"runAsNonRoot", "seccompProfile"}),
        "The ROCm device plugin runs as root to open the kubelet's device-plugin socket and read the GPUs "
        "from /sys; its upstream manifest sets no seccomp profile. It still drops every capability and "
        "cannot escalate privileges (components/accelerators/devices.py).",
    ),
    Exemption(
        "pod-security-restricted", "DaemonSet", "intel-gpu-plugin-*",
        frozenset({"runAsNonRoot"}),
        "The Intel GPU plugin (one per Intel pool) runs as root to open /dev/dri and the kubelet's "
        "device-plugin socket; it keeps RuntimeDefault seccomp, drops every capability, runs read-only.",
    ),
    Exemption(
        "no-host-path", "DaemonSet", "amd-gpu-device-plugin",
        frozenset({_DEVICE_PLUGIN_SOCKET, "/sys"}),
        "A device plugin registers with the kubelet through its socket folder and discovers AMD GPUs in sysfs.",
    ),
    Exemption(
        "no-host-path", "DaemonSet", "intel-gpu-plugin-*",
        frozenset({_DEVICE_PLUGIN_SOCKET, "/dev/dri", "/sys/class/drm", "/var/run/cdi"}),
        "A device plugin registers with the kubelet through its socket folder, reads Intel GPUs from /dev/dri "
        "and /sys/class/drm, and writes CDI specs for the runtime to /var/run/cdi.",
    ),
)


def waived(policy: str, type_: str, props: Mapping[str, Any]) -> frozenset[str]:
    """Everything the documented exceptions waive for this object under ``policy``."""
    found: set[str] = set()
    for exemption in EXEMPTIONS:
        if exemption.policy == policy and exemption.covers(type_, props):
            found |= exemption.waives
    return frozenset(found)
