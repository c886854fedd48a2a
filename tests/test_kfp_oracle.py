"""The real KFP 1.8.22 compiler as the oracle for mlplane's KFP v1 layer.

Every pipeline under tests/data/pipelines/oracle/ is compiled by kfp 1.8.22 (in its own
venv, one subprocess for all of them, tests/oracle/kfp_oracle.py) and loaded by mlplane;
a pipeline mlplane renders must agree with KFP step by step (image, command, arguments,
environment, volumes and mounts, resources, retries, timeout, node selector,
tolerations, annotations and labels, outputs, the files and values each step
receives, and what it runs after). A pipeline mlplane refuses must be refused with the
construct, the file and the line.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.errors import InputError
from pipelines.kfp_v1 import load_kfp_v1_pipeline
from tests.oracle.kfp_oracle import OracleUnavailable, compile_all, differences, mlplane_steps, oracle_steps

ORACLE = Path(__file__).resolve().parent / "data" / "pipelines" / "oracle"

#: Each test pipeline and what mlplane must do with it: render natively, or refuse
#: (the construct it names). Run-time flow to an Argo Workflow is not done yet.
EXPECTED = {
    "classic_ops": "native",
    "light_values": "native",
    "light_files": "native",
    "spec_components": "native",
    "modifiers": "native",
    "secrets_and_conf": "native",
    "resources_and_sidecars": "native",
    "flow_condition": "refused:dsl.Condition",
    "gcp_preemptible": "refused:gcp.use_preemptible_nodepool",
}


def test_every_oracle_pipeline_has_an_expectation() -> None:
    assert sorted(p.stem for p in ORACLE.glob("*.py")) == sorted(EXPECTED)


@pytest.fixture(scope="session")
def compiled() -> dict[str, dict]:
    jobs = [{"id": stem, "file": str(ORACLE / f"{stem}.py"), "function": "pipeline"} for stem in EXPECTED]
    try:
        return compile_all(jobs)
    except OracleUnavailable as exc:
        if os.environ.get("MLPLANE_REQUIRE_ORACLE"):
            raise
        pytest.skip(f"the KFP 1.8.22 oracle cannot be built here: {exc}")


def _load(stem: str):
    return load_kfp_v1_pipeline(ORACLE / f"{stem}.py", "pipeline", {}, name=stem.replace("_", "-"),
                                display=f"{stem}.py")


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_against_kfp_1_8_22(stem: str, compiled: dict[str, dict]) -> None:
    result = compiled[stem]
    assert "workflow" in result, f"KFP 1.8.22 could not compile {stem}: {result.get('error')}"
    expected = EXPECTED[stem]
    if expected == "native":
        found = differences(oracle_steps(result["workflow"]), mlplane_steps(_load(stem)))
        assert not found, "\n".join(found)
    else:
        construct = expected.split(":", 1)[1]
        with pytest.raises(InputError) as caught:
            _load(stem)
        message = str(caught.value)
        assert message.startswith(f"{stem}.py:") and f": {construct} " in message, message


def test_the_figures(compiled: dict[str, dict]) -> None:
    """How many of the suite's pipelines render, go to the workflow engine, are refused."""
    native = [s for s, e in EXPECTED.items() if e == "native"]
    agree = [s for s in native if not differences(oracle_steps(compiled[s]["workflow"]), mlplane_steps(_load(s)))]
    refused = [s for s, e in EXPECTED.items() if e.startswith("refused")]
    assert (len(native), len(agree), len(refused)) == (7, 7, 2)
