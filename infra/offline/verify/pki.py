"""Certificates for a throwaway control plane, made with the ``openssl`` command as control-plane.sh does.

A CA; the API server's serving certificate (loopback IPs, the first Service IP and the
``kubernetes.default`` names); client certificates for the admin (group ``system:masters``),
the scheduler and the controller manager (their RBAC user names, ``system:kube-scheduler`` and
``system:kube-controller-manager``); the service-account signing key pair. Valid 30 days.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from mlplane.infra.errors import input_error

CLIENTS = {"admin": "/CN=admin/O=system:masters", "scheduler": "/CN=system:kube-scheduler",
           "controller-manager": "/CN=system:kube-controller-manager"}
_SERVER_NAMES = ("IP:127.0.0.1,IP:127.100.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
                 "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _signed(name: str, subject: str, extensions: str, folder: Path) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subject, cwd=folder)
    (folder / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "30", "-extfile", f"{name}.ext", cwd=folder)


def kubeconfig(folder: Path, name: str, server: str) -> Path:
    """Write ``NAME.kubeconfig`` for one client certificate; returns its path."""
    path = folder / f"{name}.kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f'clusters: [{{name: local, cluster: {{server: "{server}", certificate-authority: "{folder}/ca.crt"}}}}]\n'
        f'users: [{{name: {name}, user: {{client-certificate: "{folder}/{name}.crt", '
        f'client-key: "{folder}/{name}.key"}}}}]\n'
        f"contexts: [{{name: local, context: {{cluster: local, user: {name}}}}}]\ncurrent-context: local\n")
    return path


def make_pki(folder: Path, server: str) -> None:
    """Write the CA, the server and client certificates, kubeconfigs and the SA key pair into ``folder``.

    Raises:
        InputError: ``openssl`` is not installed (exit 2: the message says what is needed).
    """
    if shutil.which("openssl") is None:
        raise input_error("environment", "openssl", "mlplane verify makes its control plane's certificates "
                          "with openssl", has_value=False, allowed="the openssl command on PATH")
    folder.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "30", "-subj", "/CN=mlplane-verify-ca", cwd=folder)
    _signed("apiserver", "/CN=kube-apiserver",
            f"subjectAltName={_SERVER_NAMES}\nextendedKeyUsage=serverAuth\n", folder)
    for name, subject in CLIENTS.items():
        _signed(name, subject, "extendedKeyUsage=clientAuth\n", folder)
        kubeconfig(folder, name, server)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=folder)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=folder)
