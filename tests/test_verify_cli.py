"""``mlplane verify``'s refusals: bad input exits 2 before any process starts; no isolation, no control plane."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mlplane.infra.offline.verify.binaries import Binaries, check, locate
from mlplane.infra.offline.verify.controlplane import ControlPlane
from mlplane.infra.offline.verify.isolation import CHILD_MARK, NotIsolated, interfaces, require_isolation
from mlplane.core.errors import InputError
from tests.verify_support import k8s_bin, mlplane, processes_under


def fake_binaries(folder: Path, version_line: str) -> Path:
    """A folder whose kube-apiserver prints ``version_line`` and whose etcd does nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in (("kube-apiserver", f"echo '{version_line}'"), ("etcd", "exit 0")):
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


def test_k8s_bin_without_binaries_exits_2_naming_the_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = mlplane("verify", "--stack", "dev", "--k8s-bin", str(empty), env={"TMPDIR": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert str(empty) in done.stderr and "no kube-apiserver or etcd binary there" in done.stderr
    assert "kube-apiserver and etcd" in done.stderr  # what is needed
    assert processes_under(tmp_path) == []


def test_unsupported_version_exits_2_naming_the_binary_and_the_range(tmp_path: Path) -> None:
    old = fake_binaries(tmp_path / "old", "Kubernetes v1.20.15")
    done = mlplane("verify", "--stack", "dev", "--k8s-bin", str(old), env={"TMPDIR": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert f"{old}/kube-apiserver is an unsupported Kubernetes version (Kubernetes v1.20.15)" in done.stderr
    assert "v1.30-v1.36" in done.stderr


def test_no_binaries_anywhere_says_where_they_are_looked_up() -> None:
    with pytest.raises(InputError) as caught:
        locate(None, environ={})
    assert "--k8s-bin DIR, $MLPLANE_K8S_BIN or $KUBEBUILDER_ASSETS" in str(caught.value)
    assert locate(None, {"KUBEBUILDER_ASSETS": "/x"}) == (Path("/x"), "$KUBEBUILDER_ASSETS")
    assert locate(None, {"KUBEBUILDER_ASSETS": "/x", "MLPLANE_K8S_BIN": "/y"}) == (Path("/y"), "$MLPLANE_K8S_BIN")


def test_a_stack_that_does_not_render_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    done = mlplane("verify", "--stack", "no-such-stack", "--k8s-bin", str(k8s_bin()), env={"TMPDIR": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert "unknown stack" in done.stderr and "no-such-stack" in done.stderr
    assert processes_under(tmp_path) == [] and list(tmp_path.iterdir()) == []


def test_envtest_assets_without_controllers_mean_admission_only(tmp_path: Path) -> None:
    folder = fake_binaries(tmp_path / "envtest", "Kubernetes v1.33.0")
    found = check(folder, "$KUBEBUILDER_ASSETS")
    assert found.version == "v1.33.0" and found.full is False and found.etcd.name == "etcd"


def test_refuses_to_start_a_control_plane_outside_an_isolated_namespace(tmp_path: Path) -> None:
    """The refusal, proven where the test runs (a host with a network interface) and with a fake one."""
    net_dev = tmp_path / "dev"
    net_dev.write_text("Inter-|\n face |\n    lo: 0 0\n  eth0: 0 0\n")
    with pytest.raises(NotIsolated, match="eth0"):
        require_isolation(net_dev)
    assert [name for name in interfaces() if name != "lo"], "this test needs a host with a network interface"
    binaries = Binaries(folder=k8s_bin(), etcd=k8s_bin() / "etcd-embedded", version="v1.36.2", full=True)
    plane = ControlPlane(binaries, tmp_path / "state")
    with pytest.raises(NotIsolated, match="refusing to start a control plane"):
        plane.__enter__()
    assert plane.processes == {} and not (tmp_path / "state").exists()


def test_the_command_told_it_is_isolated_when_it_is_not_refuses_with_exit_3(tmp_path: Path) -> None:
    done = mlplane("verify", "--stack", "dev", "--k8s-bin", str(k8s_bin()),
                   env={CHILD_MARK: "1", "TMPDIR": str(tmp_path)})
    assert done.returncode == 3, done.stderr
    assert "refusing to start a control plane" in done.stderr and "loopback" in done.stderr
    assert processes_under(tmp_path) == [] and os.listdir(tmp_path) == []
