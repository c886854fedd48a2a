"""``dsl.ParallelFor`` over a literal list, unrolled into one step per item.

KFP 1.8.22 compiles such a loop into a ``for-loop-N`` DAG that Argo runs once per item
(``withItems``). When the items are in the pipeline file and nothing else in the
pipeline is decided at run time, the plan can declare every iteration itself: each
step inside the loop becomes one step per item, named
``<step>-<loop>-<index>`` (``report-for-loop-2-0``, ``report-for-loop-2-1``; a nested
loop adds its own ``-<loop>-<index>``): KFP's name for the loop group, and the item's
position in the list, as Argo counts iterations (``for-loop-2(0:x)``). A copy gets
the item where the step used it (``{{item}}``: the item as text, a dict as compact JSON
with sorted keys, as Argo prints it; ``item.a``: field ``a``) and the copies of the
same iteration where it used other steps of the loop.

Dependencies follow KFP's DAG: a step after (or using) a step inside a loop it is not in
waits for the whole loop (every copy of every step in it), and what a step inside a loop
waits for outside it, the whole iteration waits for (KFP puts the dependency on the
loop's task). A step outside a loop cannot use the output of a step inside it (a
fan-in), nor can a loop hold volume or resource steps (the same object once per item):
nor can a loop limit its parallelism (``ParallelFor(..., parallelism=n)``; the plan has
no such limit): such pipelines stay a Workflow (:class:`NotUnrollable` says why).
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from mlplane.components.pipeline.spec import ContainerStepSpec, output_references, rename_output_steps
from mlplane.pipelines.kfp_v1.workflow import WorkflowError

_LOOP_ITEM = re.compile(r"\{\{mlplane\.loop-item:([^}]+)\}\}")
SUBVAR = "-subvar-"


class NotUnrollable(ValueError):
    """A literal loop that cannot become steps (the message says why)."""


def literal_loops(op: Any) -> list[Any]:
    """The ``ParallelFor`` groups ``op`` is inside, outermost first."""
    return [group for group in op.groups if group.kind == "for-loop"]


def item_text(value: Any) -> str:
    """A loop item as Argo substitutes ``{{item}}``: a string as it is, anything else as
    compact JSON (Go's ``json.Marshal`` sorts a map's keys)."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def copy_name(step: str, indices: tuple[tuple[Any, int], ...]) -> str:
    """The name of ``step``'s copy for the iteration ``indices`` (``(loop, index)`` pairs)."""
    return step + "".join(f"-{loop.name}-{index}" for loop, index in indices)


def unroll(ops: list[Any], steps: list[Any]) -> list[Any]:
    """Every step of ``ops`` (built as ``steps``, in order) with literal loops unrolled.

    Raises:
        NotUnrollable: A loop holds something other than container steps, or a step
            uses an output of a step inside a loop it is not in.
    """
    chains = {op.name: literal_loops(op) for op in ops}
    by_name = {step.name: step for step in steps}
    for op in ops:
        if chains[op.name] and not isinstance(by_name[op.name], ContainerStepSpec):
            raise NotUnrollable(f"step {op.name!r} ({type(op).__name__}) would be the same object once per item")
        if any(not group.literal for group in chains[op.name]):
            raise NotUnrollable(f"step {op.name!r} is inside a loop over a step's output")
        limited = [group for group in chains[op.name] if group.parallelism]
        if limited:  # the plan has no per-loop limit; Argo's template parallelism is one
            raise NotUnrollable(f"{limited[0].name} runs at most {limited[0].parallelism} iteration(s) at once")
    # (holder, target, level): what holds the dependency (the step, or the loop group it is
    # in at that level) waits for target (a step, or the loop group holding it at that level).
    attached: list[tuple[Any, Any, int]] = []
    for step in steps:
        mine = chains[step.name]
        used = [producer for producer, _ in _references(step)]
        for upstream in dict.fromkeys([*getattr(step, "after", ()), *used]):
            if upstream not in chains:
                continue
            theirs = chains[upstream]
            level = _common(mine, theirs)
            if upstream in used and len(theirs) > level:
                raise NotUnrollable(f"step {step.name!r} uses an output of step {upstream!r}, which runs once per "
                                    f"item of {theirs[level].name} (a fan-in)")
            holder = step.name if len(mine) == level else mine[level]
            target = upstream if len(theirs) == level else theirs[level]
            attached.append((holder, target, level))

    def members(target: Any, prefix: tuple[tuple[Any, int], ...]) -> list[str]:
        if isinstance(target, str):
            return [copy_name(target, prefix)]
        found = []
        for name, chain in chains.items():
            if target in chain and chain[:len(prefix)] == [loop for loop, _ in prefix]:
                found += [copy_name(name, indices) for indices in _iterations(chain, prefix)]
        return found

    unrolled = []
    for step in steps:
        chain = chains[step.name]
        for indices in _iterations(chain, ()):
            waits: list[str] = []
            for holder, target, level in attached:
                if holder == step.name or (not isinstance(holder, str) and holder in chain):
                    waits += members(target, indices[:level])
            unrolled.append(_instantiate(step, indices, chains, waits))
    return unrolled


def _common(mine: list[Any], theirs: list[Any]) -> int:
    level = 0
    while level < min(len(mine), len(theirs)) and mine[level] is theirs[level]:
        level += 1
    return level


def _iterations(chain: list[Any], prefix: tuple[tuple[Any, int], ...]) -> list[tuple[tuple[Any, int], ...]]:
    """Every iteration of ``chain``'s loops that starts with ``prefix``."""
    rest = chain[len(prefix):]
    return [prefix + tuple(zip(rest, combination, strict=True))
            for combination in itertools.product(*(range(len(loop.items)) for loop in rest))]


def _references(step: Any) -> list[tuple[str, str]]:
    return output_references(step.model_dump_json())


def _instantiate(step: Any, indices: tuple[tuple[Any, int], ...], chains: dict[str, list[Any]],
                 waits: list[str]) -> Any:
    """``step``'s copy for one iteration: its items filled in, its loop's steps renamed."""
    if not indices and not waits:
        return step
    values: dict[str, str] = {}
    for loop, index in indices:
        item = loop.items[index]
        values[loop.item_param] = item_text(item)
        if isinstance(item, dict):
            values.update({f"{loop.item_param}{SUBVAR}{key}": item_text(value) for key, value in item.items()})
    loops = {id(loop): index for loop, index in indices}

    def renamed(name: str) -> str:
        chain = chains.get(name)
        if not chain or any(id(loop) not in loops for loop in chain):
            return name
        return copy_name(name, tuple((loop, loops[id(loop)]) for loop in chain))

    def item(match: re.Match[str]) -> str:
        if match.group(1) not in values:  # Argo would fail the run on it; the plan refuses it now
            raise WorkflowError(f"step {step.name!r} uses {match.group(1)!r}, which the loop's items do not have")
        return json.dumps(values[match.group(1)])[1:-1]  # inside a JSON string

    text = _LOOP_ITEM.sub(item, step.model_dump_json())
    text = rename_output_steps(text, renamed)
    data = json.loads(text)
    data["name"] = renamed(step.name)
    # ``waits`` holds every step this one waits for, renamed; an ``after`` of no op stays
    # (the spec's validation names it).
    data["after"] = list(dict.fromkeys([*waits, *(name for name in data.get("after", ()) if name not in chains)]))
    return type(step).model_validate(data)
