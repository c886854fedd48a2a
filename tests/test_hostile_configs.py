"""Generated stack files, valid and invalid, through the real CLI: render clean or exit 2.

Every generated stack file either renders a plan that passes the policy pack, or is
refused with exit code 2, a message that names the file and a key path, no traceback,
and nothing written. Configs come from :mod:`tests.strategies` (built from the models'
shapes, then mutated) and from mutations of the repository's own stacks.

Budget: refusals cost milliseconds, renders about half a second each, so the example
counts are fixed (derandomized, no example database: CI runs the same examples every
time). ``MLPLANE_HYPOTHESIS_SCALE=10`` runs ten times as many, randomly, for a bug hunt.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mlplane.infra.cli import main

from .strategies import mutated, repository_stacks, stack_configs, stack_file_text

offline = pytest.importorskip("mlplane.policy.offline", reason="policy/offline.py (plan_violations) is not there yet")

SCALE = max(1, int(os.environ.get("MLPLANE_HYPOTHESIS_SCALE", "1")))
REPOSITORY_STACKS = repository_stacks()


def fixed(max_examples: int) -> Callable[[Any], Any]:
    """Settings for CI: a fixed number of the same examples every run.

    No shrinking: each example renders a whole stack, so shrinking a failure would cost
    minutes; the failing stack file is in the assertion message as generated.
    """
    return settings(max_examples=max_examples * SCALE, deadline=None, derandomize=SCALE == 1, database=None,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def policy_config(config: dict[str, Any]) -> dict[str, Any]:
    """The policy config that records the stack's own opt-outs (``protect: false`` in mlplane:storage).

    A stack that leaves its data unprotected says so in the stack file; the pack gets the
    same decision through its config (see policy/rules/stateful.py).
    """
    storage = config.get("mlplane:storage")
    items = [storage, *(storage.get("volumes") or [])] if isinstance(storage, dict) else []
    opted_out = any(isinstance(item, dict) and "protect" in item and item["protect"] is not True for item in items)
    return {"stateful-resources-protected": {"unprotected": ["*"]}} if opted_out else {}


def run_cli(text: str, folder: Path, name: str = "Pulumi.gen.yaml") -> tuple[int, str, str, Path]:
    """``mlplane render --config-file`` on a stack file with this text, in-process."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    out = folder / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["render", "--config-file", str(path), "--out", str(out)])
    return code, stdout.getvalue(), stderr.getvalue(), out


def check_outcome(config: dict[str, Any]) -> str:
    """Render one stack file and check the contract; returns ``rendered`` or ``refused``."""
    text = stack_file_text(config)
    with tempfile.TemporaryDirectory(prefix="mlplane-gen-") as tmp:
        folder = Path(tmp)
        code, stdout, stderr, out = run_cli(text, folder)
        path = str(folder / "Pulumi.gen.yaml")
        assert code in (0, 2), (code, stderr, text[:2000])
        assert "Traceback" not in stderr and "Traceback" not in stdout
        if code == 2:
            assert stderr.startswith("error: "), stderr
            # FILE[:LINE]: KEY.PATH: message  -- the file and the key path of the first problem.
            assert re.match(rf"error: {re.escape(path)}(:\d+)?: \S+: \S", stderr), stderr
            assert not out.exists(), "a refused stack must not write anything"
            return "refused"
        document = json.loads((out / "plan.json").read_text(encoding="utf-8"))
        violations = offline.plan_violations(document, policy_config(config))
        assert violations == [], "\n".join(f"{v.policy}: {v.urn}: {v.message}" for v in violations) + "\n" + text
        return "rendered"


def test_generated_stack_configs(stack_config_counts: Callable[[str, Counter[str]], None]) -> None:
    """Stacks built section by section from the models; half of them then mutated once."""
    counts: Counter[str] = Counter()

    @fixed(max_examples=100)
    @given(config=stack_configs(), mutate=st.integers(0, 1), data=st.data())
    def check(config: dict[str, Any], mutate: int, data: st.DataObject) -> None:
        if mutate:
            config, _ = data.draw(mutated(config), label="mutated")
        counts["tried"] += 1
        counts[check_outcome(config)] += 1

    check()
    stack_config_counts("generated", counts)
    assert counts["rendered"] >= counts["tried"] // 4, counts  # the generator must keep producing stacks that render


def test_mutated_repository_stacks(stack_config_counts: Callable[[str, Counter[str]], None]) -> None:
    """The repository's stacks, each broken once the careless or hostile way."""
    counts: Counter[str] = Counter()

    @fixed(max_examples=200)
    @given(name=st.sampled_from(sorted(REPOSITORY_STACKS)), data=st.data())
    def check(name: str, data: st.DataObject) -> None:
        config, _ = data.draw(mutated(REPOSITORY_STACKS[name]), label="mutated")
        counts["tried"] += 1
        counts[check_outcome(config)] += 1

    check()
    stack_config_counts("mutated-repository", counts)
    assert counts["refused"] >= counts["tried"] // 2 and counts["rendered"] >= counts["tried"] // 20, counts


def test_counts_summary_line_under_xdist(tmp_path: Path) -> None:
    """The terminal summary sums the counts of every xdist worker into one line."""
    import subprocess
    import sys

    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    (tests / "conftest.py").write_text((Path(__file__).parent / "conftest.py").read_text(encoding="utf-8"))
    (tests / "test_counts.py").write_text(
        "from collections import Counter\n"
        "import pytest\n\n"
        "@pytest.mark.parametrize('n', range(4))\n"
        "def test_count(stack_config_counts, n):\n"
        "    stack_config_counts('t', Counter(tried=3, rendered=1, refused=2))\n"
    )
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "tests"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hypothesis stack configs: 12 tried, 4 rendered and passed policies, 8 refused with exit 2" \
        in result.stdout, result.stdout


#: Pydantic's own words, which a stack file's author never wrote and cannot act on.
RAW_PYDANTIC = re.compile(r"Input should|valid dictionary|instance of|should have at|Field required|"
                          r"Extra inputs|validation error|Traceback|object has no attribute")
#: A wrong shape for each kind of place: a string for a mapping, a mapping for a list or a
#: string, a list for a scalar, a number for a string, and YAML's other scalars.
WRONG_SHAPES = ("text", {"a": 1}, [1, "x"], 7, 2.5, True, None)


def _key_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _key_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _key_paths(value, (*prefix, index))
    return paths


def _with(config: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    import copy

    changed = copy.deepcopy(config)
    node = changed
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return changed


#: The repository's stacks, and dev with mirrors as sources and an mlplane:serving section
#: (no repository stack has either).
SWEPT = {**REPOSITORY_STACKS, "dev-serving": {**REPOSITORY_STACKS["dev"], "mlplane:kubeflow": {
    **REPOSITORY_STACKS["dev"]["mlplane:kubeflow"],
    "sources": {"manifests": "https://git.example.com/mirrors/manifests",
                "charts": {"dex": "https://charts.example.com/dex"}}}, "mlplane:serving": {
    "endpoints": [{"name": "digits", "model": {"format": "tensorflow", "volume": {"claim": "models", "path": "m"}},
                   "resources": {"cpu_request": "1", "memory_limit": "2Gi"}, "replicas": {"min": 1, "max": 2},
                   "allow_from": ["kubeflow-user-example-com"]}],
    "web_apps": [{"name": "digits-ui", "image": "ghcr.io/acme/ui:1.0.0", "port": 5000,
                  "backend": {"endpoint": "digits", "env": {"MODEL_SERVER_URL": "url"}}}],
}}}


@pytest.mark.parametrize("name", sorted(SWEPT))
def test_every_key_given_a_wrong_shape_is_refused_in_the_stack_files_words(name: str) -> None:
    """Every key of every repository stack, replaced by each wrong shape: a clear refusal or a valid config.

    Exhaustive over the stacks' own keys (thousands of loads, each milliseconds), so no
    section can keep a raw pydantic message ("Input should be a valid dictionary") or a
    traceback: the loader's one translation (infra.errors.describe_validation_error)
    covers every model.
    """
    from mlplane.infra.load import validate_config
    from mlplane.infra.config.source import StackSource
    from mlplane.core.errors import InputError

    root = Path(__file__).resolve().parent.parent
    config = SWEPT[name]
    validate_config(config, StackSource(stack=name, file=Path(f"Pulumi.{name}.yaml"), base_dir=root))  # valid as is
    source = StackSource(stack=name, file=Path(f"Pulumi.{name}.yaml"), base_dir=root)
    raw: list[str] = []
    refused = 0
    for path in _key_paths(config):
        for wrong in WRONG_SHAPES:
            try:
                validate_config(_with(config, path, wrong), source)
            except InputError as exc:
                refused += 1
                message = str(exc)
                assert message.startswith(f"Pulumi.{name}.yaml"), message
                raw += [f"{path} = {wrong!r}: {line}" for line in message.splitlines() if RAW_PYDANTIC.search(line)]
    assert refused > 100, refused  # the sweep reached the stack's keys
    assert raw == [], "\n".join(raw[:40])


def test_sources_charts_as_a_string_says_it_must_be_a_mapping(tmp_path: Path) -> None:
    """The new user's case: ``sources: {charts: <folder>}`` instead of a chart-name mapping."""
    config = _with(REPOSITORY_STACKS["dev"], ("mlplane:kubeflow", "sources"), {"charts": "../charts"})
    code, _, stderr, out = run_cli(stack_file_text(config), tmp_path)
    assert code == 2 and not out.exists()
    assert "mlplane:kubeflow.sources.charts: must be a mapping (got '../charts'; allowed: `key: value` lines" in stderr
