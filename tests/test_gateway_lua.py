"""The gateway's Lua filter, run in LuaJIT as Envoy runs it, and the UI artifact cell it decides.

KFP's UI serves ``/pipeline/artifacts/*`` itself, with the platform's store key and no user
check, unless the query's first ``namespace`` parameter is non-empty (kubeflow/pipelines
2.0.5 and 2.16.0 ``frontend/server/handlers/artifacts.ts``); the filter refuses such requests
at the gateway. Its decoding must agree with URLSearchParams' (form decoding), or a request
could look named to the gateway and unnamed to the UI.
"""

from __future__ import annotations

import copy
import re
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlplane.components.platform.gateway_guard import strip_headers_spec
from mlplane.policy.access import lua_filters
from mlplane.policy.access.matrix import evaluate
from mlplane.policy.access.request import Http

from .access_plans import MATRIX_STACKS, matrix, objects

SOURCE = strip_headers_spec({"istio": "ingressgateway"})["configPatches"][0]["patch"]["value"]["typed_config"][
    "defaultSourceCode"]["inlineString"]
UNNAMED = "A's artifacts through the KFP UI, no namespace named"
NAMED = "A's artifacts through the KFP UI"

pytestmark = pytest.mark.usefixtures("expansion_scratch")


def _answer(path: str, **headers: str) -> tuple[Http, lua_filters.Answer | None]:
    return lua_filters.run("guard", SOURCE, Http(path=path, headers=headers))


@pytest.mark.parametrize("path", [
    "/pipeline/artifacts/get?source=s3&bucket=mlpipeline&key=private-artifacts/team-a/x",
    "/pipeline/artifacts/get?source=s3&namespace=&key=x",
    "/pipeline/artifacts/get?namespace=&namespace=team-a",       # URLSearchParams.get: the first, ""
    "/pipeline/ARTIFACTS/get?key=x",                              # Express routes case-insensitively
    "/pipeline//artifacts/get?key=x",
    "/pipeline/%61rtifacts/get?key=x",
    "/pipeline/artifacts/minio/mlpipeline/private-artifacts/team-a/x",
    "/artifacts/get?key=x",
    "/pipeline/artifacts/get?namespace=evil.example%2Fx&key=x",  # not a namespace: CVE-2023-6570's host steering
    "/pipeline/artifacts/get?namespace=Team-A",
])
def test_unnamed_or_malformed_artifact_requests_are_answered_403(path: str) -> None:
    _, answered = _answer(path)
    assert answered is not None and answered.status == "403", path


@pytest.mark.parametrize("path", [
    "/pipeline/artifacts/get?source=s3&bucket=mlpipeline&key=k&namespace=team-a",
    "/pipeline/artifacts/get?%6Eamespace=team-a&key=k",          # URLSearchParams decodes keys too
    "/pipeline/apis/v2beta1/runs?namespace=",
    "/pipeline/",
    "/notebook/team-a/x/artifacts/get",
])
def test_other_requests_pass(path: str) -> None:
    http, answered = _answer(path)
    assert answered is None and http.path == path


def test_identity_headers_are_removed_and_others_kept() -> None:
    http, _ = _answer("/pipeline/", **{"kubeflow-userid": "alice@x", "kubeflow-groups": "admins", "x-other": "1"})
    assert dict(http.headers) == {"x-other": "1"}


_QUERY = st.text(alphabet="namespcx=&+%0123456789abcdefABCDEF-", max_size=40)


@given(_QUERY)
def test_the_filter_reads_namespace_as_urlsearchparams_does(query: str) -> None:
    """Python's parse_qsl is the WHATWG form decoding on ASCII (``&`` pairs, ``+``, %XX)."""
    decoded = urllib.parse.parse_qsl(query, keep_blank_values=True, errors="replace")
    first = next((v for k, v in decoded if k == "namespace"), "")
    valid = len(first) <= 63 and re.fullmatch(r"[a-z0-9][-a-z0-9]*", first) is not None
    _, answered = _answer(f"/pipeline/artifacts/get?{query}")
    assert (answered is None) is valid, (query, first)


@pytest.mark.parametrize("stack", MATRIX_STACKS)
def test_no_user_reads_artifacts_through_the_ui_without_naming_a_namespace(stack: str) -> None:
    m = matrix(stack)
    for persona in ("user of B only", "owner of A"):  # logged in: the gateway's filter is what refuses
        cell = m.cell(persona, UNNAMED)
        assert not cell.verdict.allowed and "(Lua)" in cell.verdict.reason, (persona, cell.verdict.reason)
    assert not m.cell("anonymous", UNNAMED).verdict.allowed
    assert m.cell("owner of A", NAMED).verdict.allowed, m.cell("owner of A", NAMED).verdict.reason


def test_without_the_check_the_cell_turns() -> None:
    """Mutation: the gateway filter as it was (identity headers only) lets B read A's artifacts via the UI."""
    mutated = copy.deepcopy([dict(o) for o in objects("onprem")])
    for obj in mutated:
        if obj.get("kind") == "EnvoyFilter":
            config = obj["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]
            source = config["defaultSourceCode"]["inlineString"]
            config["defaultSourceCode"]["inlineString"] = source.replace("if ui_artifact(path) then",
                                                                         "if false then")
    cell = evaluate("onprem", mutated).cell("user of B only", UNNAMED)
    assert cell.verdict.allowed and "its own store key" in cell.verdict.reason, cell.verdict.reason
