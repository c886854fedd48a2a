"""Where the control-plane binaries are, and whether the harness can use them.

Looked up, first found wins: ``--k8s-bin DIR``, ``$MLPLANE_K8S_BIN``, ``$KUBEBUILDER_ASSETS``
(controller-runtime's envtest convention: ``setup-envtest use -p path`` prints such a folder,
holding ``etcd``, ``kube-apiserver`` and ``kubectl``; see
https://book.kubebuilder.io/reference/envtest). The project never assumes a copy of its
own: on a user's machine nothing is found until one of the three is set, and the message
says how. CI and the tests unpack ``../shared/k8s``'s tarball (:func:`unpack_tarball`).

Full cycle needs ``kube-controller-manager`` and ``kube-scheduler`` beside the API server;
without them (envtest's assets) only admission is judged.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from mlplane.core.errors import input_error

#: Kubernetes minor versions the harness is written against (flags, APIs it reads: the
#: ``admissionregistration.k8s.io/v1`` and ``events.k8s.io/v1`` APIs, Pod Security admission).
MIN_MINOR, MAX_MINOR = 30, 36
ETCD_NAMES = ("etcd-embedded", "etcd")
OPTIONAL = ("kube-controller-manager", "kube-scheduler")
ENV_VARS = ("MLPLANE_K8S_BIN", "KUBEBUILDER_ASSETS")
NEEDED = ("kube-apiserver and etcd (or etcd-embedded), Kubernetes "
          f"v1.{MIN_MINOR}-v1.{MAX_MINOR}; kube-controller-manager and kube-scheduler for the full cycle "
          "(envtest's `setup-envtest use -p path` prints such a folder)")


@dataclass(frozen=True)
class Binaries:
    """A usable set of binaries.

    Attributes:
        folder: Where they are.
        etcd: The etcd binary (``etcd-embedded`` takes the singular flag spellings).
        version: ``kube-apiserver --version``'s ``vX.Y.Z``.
        full: Whether the controller manager and scheduler are there too.
    """

    folder: Path
    etcd: Path
    version: str
    full: bool

    def path(self, name: str) -> Path:
        """The binary called ``name`` in :attr:`folder`."""
        return self.folder / name


def locate(option: Path | None, environ: dict[str, str] | None = None) -> tuple[Path, str]:
    """The folder to use and where it came from (``--k8s-bin``, an environment variable).

    Raises:
        InputError: None of the three is set.
    """
    env = os.environ if environ is None else environ
    if option is not None:
        return option, "--k8s-bin"
    for name in ENV_VARS:
        if env.get(name):
            return Path(env[name]), f"${name}"
    raise input_error("command line", "--k8s-bin", "no Kubernetes control-plane binaries given",
                      has_value=False, allowed=f"--k8s-bin DIR, $MLPLANE_K8S_BIN or $KUBEBUILDER_ASSETS naming a "
                      f"folder with {NEEDED}")


def check(folder: Path, origin: str) -> Binaries:
    """Check ``folder`` holds runnable binaries of a supported version.

    Raises:
        InputError: Missing binaries, or an unsupported version (exit 2).
    """
    def refuse(message: str, value: str) -> Exception:
        # The path in the message: a value would be shortened, and the path is what the user must see.
        return input_error("command line", origin, f"{value}: {message}", has_value=False,
                           allowed=f"a folder with {NEEDED}")

    if not folder.is_dir():
        raise refuse("not a folder", str(folder))
    apiserver = folder / "kube-apiserver"
    etcd = next((folder / n for n in ETCD_NAMES if os.access(folder / n, os.X_OK)), None)
    if not os.access(apiserver, os.X_OK) or etcd is None:
        raise refuse("no kube-apiserver or etcd binary there", str(folder))
    try:
        out = subprocess.run([str(apiserver), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise refuse(f"kube-apiserver does not run ({exc})", str(apiserver)) from None
    match = re.search(r"v1\.(\d+)\.\d+\S*", out)
    if match is None or not MIN_MINOR <= int(match.group(1)) <= MAX_MINOR:
        printed = out.strip().splitlines()[0] if out.strip() else "no version printed"
        raise input_error("command line", origin, f"{apiserver} is an unsupported Kubernetes version ({printed})",
                          has_value=False, allowed=f"a folder with {NEEDED}")
    full = all(os.access(folder / n, os.X_OK) for n in OPTIONAL)
    return Binaries(folder=folder, etcd=etcd, version=match.group(0), full=full)


def _plain_members(tarball: Path, archive: tarfile.TarFile, root: Path) -> list[tarfile.TarInfo]:
    """The archive's members, each a file or folder that lands inside ``root``.

    Raises:
        ValueError: a link, device or path that would leave ``root`` (the tarball is not
            ``../shared/k8s``'s).
    """
    base = root.resolve()
    members = archive.getmembers()
    for member in members:
        if not (member.isfile() or member.isdir()):
            raise ValueError(f"{tarball}: {member.name} is neither a file nor a folder")
        if not (base / member.name).resolve().is_relative_to(base):
            raise ValueError(f"{tarball}: {member.name} would be written outside {root}")
    return members


def unpack_tarball(tarball: Path, cache: Path) -> Path:
    """Unpack a control-plane tarball (``../shared/k8s``'s layout) once into ``cache/<sha16>/``.

    The folder is filled beside its final name and renamed, so a half-unpacked one is never
    used; ``SHA256SUMS`` in the tarball is checked, as control-plane.sh does.

    Returns:
        The folder with the binaries.
    """
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()[:16]
    final = cache / digest
    if (final / "kube-apiserver").is_file():
        return final
    staging = cache / f"{digest}.tmp{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        members = _plain_members(tarball, archive, staging)
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: the standard library's own checks too
            archive.extractall(staging, members=members, filter="data")
        else:
            archive.extractall(staging, members=members)  # noqa: S202 - members checked above
    for line in (staging / "SHA256SUMS").read_text().splitlines():
        expected, name = line.split()
        actual = hashlib.sha256((staging / name.lstrip("*")).read_bytes()).hexdigest()
        if actual != expected:
            raise ValueError(f"{tarball}: {name} does not match its SHA256SUMS entry")
    for entry in staging.iterdir():
        entry.chmod(entry.stat().st_mode | 0o111 if entry.name != "SHA256SUMS" else entry.stat().st_mode)
    try:
        staging.rename(final)
    except OSError:  # another run unpacked it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return final
