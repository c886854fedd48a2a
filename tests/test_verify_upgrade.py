"""Upgrade on a live control plane (issue 21, item 5): onprem on 1.8.1, then on 26.03, in Pulumi's order.

Each refusal must be classified: version-independent (immutable fields, stored CRD versions,
an object that changed its URN without an alias, a field another manager owns) or caused by
the harness (conversion webhooks, the 1.36 server for a release that targeted older ones).
Admission only: the question is what the API server accepts, not what pods do.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlplane.infra.offline.verify.upgrade import classify
from tests.verify_support import ROOT, k8s_bin, mlplane

SOURCES = ROOT.parent / "shared" / "upstream"
_UPGRADE = """
import json, sys
from pathlib import Path
from mlplane.infra.load import load_stack_file
from mlplane.infra.offline.plan import load_plan
from mlplane.infra.offline.verify.binaries import check
from mlplane.infra.offline.verify.client import Kube
from mlplane.infra.offline.verify.controlplane import ControlPlane
from mlplane.infra.offline.verify.nodes import create_nodes, declared_nodes
from mlplane.infra.offline.verify.upgrade import upgrade
first, second = load_plan(Path(sys.argv[1])), load_plan(Path(sys.argv[2]))
config = load_stack_file(Path(sys.argv[4]), stack="onprem", display="Pulumi.onprem.yaml")
with ControlPlane(check(Path(sys.argv[3]), "--k8s-bin"), Path(sys.argv[5]), admission_only=True) as plane:
    kube = Kube(plane.kubeconfig)
    create_nodes(kube, declared_nodes("selfhosted", list(config.accelerators.pools), second))
    before, after, result = upgrade(kube, first, second)
print(json.dumps({"first": {"applied": len(before.applied), "refused": len(before.refused)},
                  "second": {"applied": len(after.applied), "refused": len(after.refused),
                             "notAttempted": len(after.skipped)},
                  "created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                  "deleted": result.deleted, "refusals": result.refusals}))
"""


def render(arguments: list[str], out: Path) -> Path:
    done = mlplane("render", *arguments, "--sources", str(SOURCES), "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    return out / "plan.json"


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("upgrade")
    text = (ROOT / "Pulumi.onprem.yaml").read_text()
    copy = tmp / "Pulumi.onprem-181.yaml"
    copy.write_text(re.sub(r'^    release: "[^"]+"$', '    release: "1.8.1"', text, flags=re.MULTILINE))
    first = render(["--config-file", str(copy)], tmp / "first")
    second = render(["--stack", "onprem"], tmp / "second")
    done = subprocess.run(["unshare", "-rn", sys.executable, "-c", _UPGRADE, str(first), str(second), str(k8s_bin()),
                           str(ROOT / "Pulumi.onprem.yaml"), str(tmp / "state")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_the_first_train_applies_whole_and_the_second_is_walked(upgraded: dict[str, Any]) -> None:
    assert upgraded["first"]["refused"] == 0 and upgraded["first"]["applied"] > 500
    assert upgraded["created"] > 0 and upgraded["updated"] > 0 and upgraded["unchanged"] > 0
    assert upgraded["deleted"] > 0  # 1.8.1's own objects are removed last


def test_every_refusal_is_classified(upgraded: dict[str, Any]) -> None:
    unclassified = [r for r in upgraded["refusals"] if r["class"] == "unclassified"]
    listing = "\n".join(f"{r['step']} {r['subject']}: {r['message']}" for r in unclassified)
    assert unclassified == [], listing


def test_classification_rules() -> None:
    assert classify('Deployment.apps "x" is invalid: spec.selector: Invalid value: ...: field is immutable')[0] \
        == "version-independent"
    assert classify('status.storedVersions[0]: Invalid value: "v1alpha1": must appear in spec.versions')[0] \
        == "version-independent"
    assert classify('conversion webhook for serving.knative.dev/v1alpha1 failed: no endpoints')[0] == "harness"
    assert classify('no matches for kind "PodSecurityPolicy" in version "policy/v1beta1"')[0] == "harness"
    assert classify("something new")[0] == "unclassified"
