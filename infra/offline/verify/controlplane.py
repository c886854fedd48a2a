"""A throwaway control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler.

Started by the harness itself with the flags of ../shared/k8s/control-plane.sh (its README
gives why each matters): client-certificate auth and ``Node,RBAC`` authorization; Services in
``127.100.0.0/16`` (loopback) and ``--enable-aggregator-routing=true`` so webhook and
aggregated-API calls go to endpoints (there are none) and can never leave the machine; the
controller manager without ``nodelifecycle`` and ``nodeipam`` (nodes without a kubelet would
be tainted unreachable). Each run has its own state folder. :class:`ControlPlane` is a context
manager whose exit always stops every process it started (by its own handle, SIGTERM then
SIGKILL), on errors and KeyboardInterrupt too; children also get ``PR_SET_PDEATHSIG`` so they
die with the harness if it is killed outright.
"""

from __future__ import annotations

import ctypes
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from mlplane.infra.offline.verify.binaries import Binaries
from mlplane.infra.offline.verify.errors import HarnessError
from mlplane.infra.offline.verify.isolation import loopback_up, require_isolation
from mlplane.infra.offline.verify.pki import make_pki

SERVICE_CIDR = "127.100.0.0/16"
BASE_PORT = 26000
ETCD, ETCD_PEER, API, KCM, SCHED = BASE_PORT, BASE_PORT + 1, BASE_PORT + 443, BASE_PORT + 257, BASE_PORT + 259
SERVER = f"https://127.0.0.1:{API}"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class ControlPlane:
    """The processes of one control plane under ``state`` (pki/, etcd/, logs/).

    Attributes:
        binaries: What to run; without controller manager and scheduler only admission is judged.
        state: This run's own folder (created; never shared between runs).
        admission_only: Start etcd and the API server only, even when the others exist.
    """

    binaries: Binaries
    state: Path
    admission_only: bool = False
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        """Whether the controller manager and scheduler run (pods are created and scheduled)."""
        return self.binaries.full and not self.admission_only

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (a client certificate in ``system:masters``)."""
        return self.state / "pki" / "admin.kubeconfig"

    def __enter__(self) -> "ControlPlane":
        require_isolation()
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Start the processes in order and wait for each to be healthy (HarnessError if not)."""
        loopback_up()
        pki, bin_ = self.state / "pki", self.binaries
        make_pki(pki, SERVER)
        (self.state / "logs").mkdir(parents=True, exist_ok=True)
        etcd_url = f"http://127.0.0.1:{ETCD}"
        if bin_.etcd.name == "etcd-embedded":
            etcd = [f"--listen-client-url={etcd_url}", f"--listen-peer-url=http://127.0.0.1:{ETCD_PEER}"]
        else:  # upstream etcd (envtest's assets)
            etcd = [f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                    f"--listen-peer-urls=http://127.0.0.1:{ETCD_PEER}", "--unsafe-no-fsync"]
        self._spawn("etcd", [str(bin_.etcd), f"--data-dir={self.state / 'etcd'}", *etcd])
        self._wait("etcd", 60, lambda: _get(f"{etcd_url}/health", None))
        self._spawn("apiserver", [
            str(bin_.path("kube-apiserver")), f"--etcd-servers={etcd_url}", "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1", f"--secure-port={API}",
            f"--tls-cert-file={pki}/apiserver.crt", f"--tls-private-key-file={pki}/apiserver.key",
            f"--client-ca-file={pki}/ca.crt", "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--enable-aggregator-routing=true",
            "--authorization-mode=Node,RBAC", "--allow-privileged=true", "--profiling=false", "--v=1"])
        self._wait("apiserver", 180, lambda: _get(f"{SERVER}/readyz", pki))
        if not self.full:
            return
        kcm = f"{pki}/controller-manager.kubeconfig"
        self._spawn("controller-manager", [
            str(bin_.path("kube-controller-manager")), f"--kubeconfig={kcm}", f"--authentication-kubeconfig={kcm}",
            f"--authorization-kubeconfig={kcm}", "--bind-address=127.0.0.1", f"--secure-port={KCM}",
            f"--service-account-private-key-file={pki}/sa.key", f"--root-ca-file={pki}/ca.crt",
            f"--cluster-signing-cert-file={pki}/ca.crt", f"--cluster-signing-key-file={pki}/ca.key",
            "--use-service-account-credentials=true", "--leader-elect=false",
            "--controllers=*,-nodelifecycle,-nodeipam", "--v=1"])
        sched = f"{pki}/scheduler.kubeconfig"
        self._spawn("scheduler", [
            str(bin_.path("kube-scheduler")), f"--kubeconfig={sched}", f"--authentication-kubeconfig={sched}",
            f"--authorization-kubeconfig={sched}", "--bind-address=127.0.0.1", f"--secure-port={SCHED}",
            "--leader-elect=false", "--v=1"])
        self._wait("controller-manager", 120, lambda: _get(f"https://127.0.0.1:{KCM}/healthz", None, insecure=True))
        self._wait("scheduler", 120, lambda: _get(f"https://127.0.0.1:{SCHED}/healthz", None, insecure=True))

    def stop(self) -> None:
        """Stop every process this object started, newest first: SIGTERM, then SIGKILL after 10 s."""
        for name in reversed(list(self.processes)):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The last lines of one process's log."""
        path = self.state / "logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""

    def _spawn(self, name: str, command: list[str]) -> None:
        with (self.state / "logs" / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)

    def _wait(self, name: str, seconds: float, healthy: "callable[[], bool]") -> None:
        deadline = time.monotonic() + seconds
        while not healthy():
            if self.processes[name].poll() is not None:
                raise HarnessError(f"{name} exited ({self.processes[name].returncode}):\n{self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise HarnessError(f"{name} not healthy after {seconds:.0f} s:\n{self.log_tail(name)}")
            time.sleep(0.3)


def _get(url: str, pki: Path | None, insecure: bool = False) -> bool:
    """Whether GET ``url`` answers 200 (with the admin client certificate when ``pki`` is given)."""
    context = None
    if url.startswith("https"):
        context = ssl.create_default_context(cafile=str(pki / "ca.crt")) if pki else ssl.create_default_context()
        if insecure:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        if pki:
            context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
