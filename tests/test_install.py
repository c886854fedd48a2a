"""What a fresh clone installs: mlplane alone by default, a cloud SDK only where a stack needs it.

`pulumi install` runs `pip install -r requirements.txt` into .venv (Pulumi.yaml: toolchain
pip, virtualenv .venv; pulumi/pulumi sdk/python/toolchain/pip.go), the same file for every
stack, so it must not pull the three cloud SDKs; `dev` and `onprem` must run without them.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

CLOUD_MODULES = ("pulumi_gcp", "pulumi_aws", "pulumi_azure_native")
CLOUD_PACKAGES = ("pulumi-gcp", "pulumi-aws", "pulumi-azure-native")


def requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_pulumi_installs_requirements_txt_into_dot_venv_with_pip() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


def test_requirements_install_mlplane_without_cloud_sdks() -> None:
    assert requirements() == ["-e ."]
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in core if d.startswith(CLOUD_PACKAGES)]


def test_each_cloud_extra_holds_its_sdk() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra, package in (("gcp", "pulumi-gcp"), ("aws", "pulumi-aws"), ("azure", "pulumi-azure-native")):
        assert [d for d in extras[extra] if d.startswith(package)], extra


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "onprem"])
def test_stacks_without_a_cloud_render_with_no_cloud_sdk(stack: str, tmp_path: Path) -> None:
    # A fresh `pulumi install` has none of the cloud SDKs: block their imports, as if absent.
    program = (f"import sys\nfor m in {CLOUD_MODULES!r}: sys.modules[m] = None\n"
               f"from mlplane.infra.cli import main\nsys.exit(main(['render', '--stack', {stack!r}, '--out', {str(tmp_path)!r}]))\n")
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"Rendered stack {stack}" in result.stdout
