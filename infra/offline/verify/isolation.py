"""The safety rule, by construction: the control plane runs only in a loopback-only network namespace.

An API server calls admission webhooks at their Services' addresses; on a host network those
packets could leave the machine (../shared/k8s/README.md, "Safety rules"). The harness refuses
to start a control plane unless every interface of the current network namespace is loopback
(:func:`require_isolation`), and the CLI re-executes itself under ``unshare -rn`` (a new user
and network namespace: ``man 1 unshare``) when it is not (:func:`isolated_command`).

``/proc/self/net/dev`` is read, not ``/sys/class/net``: sysfs shows the namespace it was mounted
in, procfs the calling process's own.
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import struct
import sys
from pathlib import Path

from mlplane.infra.errors import input_error
from mlplane.infra.offline.verify.errors import HarnessError

_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_IFREQ = "16sh22x"  # struct ifreq: name, flags, padding to 40 bytes (linux/if.h)
_CLI = "import sys; from mlplane.infra.cli import main; sys.exit(main(sys.argv[1:]))"
#: Set in the re-executed child so it never re-executes again.
CHILD_MARK = "MLPLANE_VERIFY_UNSHARED"


class NotIsolated(HarnessError):
    """The network namespace has interfaces besides loopback: no control plane may start."""


def interfaces(net_dev: Path = Path("/proc/self/net/dev")) -> list[str]:
    """The network interfaces of the calling process's network namespace."""
    lines = net_dev.read_text().splitlines()[2:]  # two header lines
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line]


def require_isolation(net_dev: Path = Path("/proc/self/net/dev")) -> None:
    """Refuse (raise :class:`NotIsolated`) unless loopback is the only interface here."""
    others = [name for name in interfaces(net_dev) if name != "lo"]
    if others:
        raise NotIsolated(f"refusing to start a control plane: this network namespace has interfaces besides "
                          f"loopback ({', '.join(others)}); run inside `unshare -rn` (mlplane verify does so "
                          "itself unless told it already is)")


def loopback_up() -> None:
    """Bring ``lo`` up (a new network namespace starts with it down), as ``ip link set lo up``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(_IFREQ, b"lo", 0)
        flags = struct.unpack(_IFREQ, fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        if not flags & _IFF_UP:
            fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))


def isolated_command(argv: list[str]) -> list[str]:
    """The command that runs ``mlplane ARGV`` (this interpreter) in a new user and network namespace.

    Raises:
        InputError: ``unshare`` (util-linux) is not installed.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        raise input_error("environment", "unshare", "mlplane verify runs its control plane in a private network "
                          "namespace and needs `unshare` for it", has_value=False,
                          allowed="util-linux's unshare on PATH, with user namespaces enabled (or run as root)")
    return [unshare, "--user", "--map-root-user", "--net", "--", sys.executable, "-c", _CLI, *argv]
