"""``mlplane verify`` refuses a plan whose charts or directories were not expanded (exit 2, nothing started).

Without their sources, a render records each chart and kustomize directory as one opaque
resource; applying such a plan would refuse every custom resource of their CRDs as a
"problem of the plan" (no such kind) and judge nothing they install, and
``--fail-on-problem`` would exit 1 for a plan that may be fine. So it is bad input,
named with its fix, before any process starts.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from mlplane.core.errors import InputError
from mlplane.infra.offline.verify.command import refuse_unexpanded
from tests.plans import component, k8s, plan
from tests.verify_support import k8s_bin, mlplane, processes_under

CHART = "kubernetes:helm.sh/v4:Chart"
DIRECTORY = "kubernetes:kustomize/v2:Directory"


def test_verify_without_sources_exits_2_naming_the_stack_file_the_sources_and_the_fix(tmp_path: Path) -> None:
    # The autouse fixture gives an empty sources cache; no --sources: nothing can be expanded.
    done = mlplane("verify", "--stack", "dev", "--k8s-bin", str(k8s_bin()), "--fail-on-problem",
                   env={"TMPDIR": str(tmp_path)})
    assert done.returncode == 2, done.stderr[-3000:]
    error = done.stderr[done.stderr.index("error: "):]
    assert error.startswith("error: Pulumi.dev.yaml: --sources: ") and "not expanded" in error
    assert "19 chart(s)/directories not expanded" in error
    assert "(got 'platform-auth-dex, platform-auth-oauth2-proxy, ...'" in error  # the value: which ones
    assert "`mlplane sources fetch --stack dev`" in error and "`--sources DIR`" in error  # what is allowed
    assert "mlplane verify: stack dev" not in done.stdout  # no report: nothing was applied
    assert processes_under(tmp_path) == [] and os.listdir(tmp_path) == []


def test_a_plan_with_every_source_expanded_passes_and_any_opaque_one_is_named() -> None:
    chart = component(CHART, "istiod")
    directory = component(DIRECTORY, "pipelines")
    child = k8s("kubernetes:core/v1:ConfigMap", "istiod-config", {"apiVersion": "v1", "kind": "ConfigMap",
                                                                  "metadata": {"name": "c", "namespace": "x"}})
    child = replace(child, parent=chart.urn)
    expanded_chart = plan(chart, child)
    refuse_unexpanded(expanded_chart, "Pulumi.x.yaml", "--stack x")  # nothing opaque: no error
    with pytest.raises(InputError) as caught:
        refuse_unexpanded(plan(chart, child, directory), "Pulumi.x.yaml", "--config-file a/Pulumi.x.yaml")
    message = str(caught.value)
    assert message.startswith("Pulumi.x.yaml: --sources: 1 chart(s)/directories not expanded")
    assert "pipelines" in message and "istiod" not in message.split("(got", 1)[1]
    assert "`mlplane sources fetch --config-file a/Pulumi.x.yaml`" in message
