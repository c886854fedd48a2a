"""Unpacking a control-plane tarball: checked members only, on every supported Python.

Python before 3.11.4 has no ``extractall(filter=...)``; mlplane checks the members itself on
every version (a file or folder, inside the target) and adds the standard library's filter where
it exists.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from mlplane.infra.offline.verify.binaries import unpack_tarball


def _tarball(path: Path, entries: dict[str, bytes], link: str | None = None) -> Path:
    sums = "".join(f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in entries.items())
    with tarfile.open(path, "w:gz") as archive:
        for name, body in {**entries, "SHA256SUMS": sums.encode()}.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
        if link:
            info = tarfile.TarInfo("escape")
            info.type, info.linkname = tarfile.SYMTYPE, link
            archive.addfile(info)
    return path


@pytest.mark.parametrize("with_filter", [True, False])
def test_a_plain_tarball_is_unpacked_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 with_filter: bool) -> None:
    if not with_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    folder = unpack_tarball(_tarball(tmp_path / "k8s.tgz", {"kube-apiserver": b"#!/bin/sh\n"}), tmp_path / "cache")
    assert (folder / "kube-apiserver").read_bytes() == b"#!/bin/sh\n"
    assert (folder / "kube-apiserver").stat().st_mode & 0o111


@pytest.mark.parametrize("with_filter", [True, False])
@pytest.mark.parametrize("bad", ["path", "link"])
def test_a_member_outside_the_folder_or_a_link_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           with_filter: bool, bad: str) -> None:
    if not with_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    entries = {"kube-apiserver": b"x", **({"../outside": b"x"} if bad == "path" else {})}
    tarball = _tarball(tmp_path / "k8s.tgz", entries, link="/etc/passwd" if bad == "link" else None)
    with pytest.raises(ValueError, match="outside|neither a file"):
        unpack_tarball(tarball, tmp_path / "cache")
    assert not (tmp_path / "outside").exists()
