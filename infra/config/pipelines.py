"""``mlplane:pipelines``: the pipelines a stack runs, each from code in the repository."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from mlplane.components.pipeline.schedule import ScheduleConfig
from mlplane.core.naming import check_dns_label
from mlplane.core.pinning import is_pinned
from mlplane.components.renames import RenameHistory, formerly_problem, name_clashes


DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
ParamValue = str | int | float | bool

_SOURCE = re.compile(r"^(?P<target>[^:]+):(?P<function>[A-Za-z_][A-Za-z0-9_]*)$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def check_source(value: str) -> str:
    """A source is ``package.module:function`` or ``path/to/file.py:function``."""
    match = _SOURCE.match(value)
    if not match or not value.isprintable():  # a NUL byte or line break is no file name
        raise ValueError("must be `module:function` or `path/to/file.py:function`")
    target = match.group("target")
    if not target.endswith(".py") and not _MODULE.match(target):
        raise ValueError("must be `module:function` or `path/to/file.py:function`")
    return value


#: How ``pulumi up`` treats a pipeline's run, for messages.
RUN_MODES = "await (pulumi up waits for the run), async (it starts the run and returns), on-change (the same " \
            "as await, named for its re-run rule)"


class PipelineEntry(RenameHistory):
    """One pipeline of the stack."""

    name: DnsLabel = Field(description="The pipeline's name in the stack; prefixes its objects' names.")
    source: Annotated[str, AfterValidator(check_source)] = Field(
        description="Where the pipeline function is: `module:function` or `path/to/file.py:function` "
                    "(relative to the stack file's folder, and inside it)."
    )
    kind: Literal["native", "kfp-v1"] = Field(
        "native", description="native: an mlplane pipeline function; kfp-v1: an unmodified KFP v1 pipeline file."
    )
    params: dict[str, ParamValue] = Field(default_factory=dict, description="Values for the pipeline's parameters.")
    namespace: DnsLabel | None = Field(None, description="Namespace of its steps; default: the workload namespace.")
    image_overrides: dict[str, str] = Field(
        default_factory=dict,
        description="Replace images (e.g. pin a KFP v1 file's `:latest` image) without changing the file.",
    )
    allow_unpinned_images: bool = Field(
        False, description="Accept images without a version tag or digest (an explicit, recorded exception)."
    )
    runner_permissions: bool = Field(
        False,
        description="Give the steps a ServiceAccount that may manage Deployments, Services and Pods in the "
                    "namespace (what KFP v1 deployer containers need).",
    )

    component_copies: dict[str, str] = Field(
        default_factory=dict,
        description="KFP v1: local copies of components the file loads with load_component_from_url, by URL "
                    "(pinned to a commit or digest); paths relative to the stack file's folder, and inside it.",
    )

    schedule: ScheduleConfig | None = Field(
        None, description="Run on a schedule instead of at `pulumi up` (KFP v1 pipelines: an Argo CronWorkflow "
                          "in the pipeline's profile namespace, never awaited).")
    run: Literal["await", "async", "on-change"] = Field(
        "await", description="How `pulumi up` treats the run it starts when the pipeline changes: await (waits "
                             "until it succeeds), async (starts it and returns; KFP v1 pipelines, one Workflow), "
                             "on-change (await, named for the rule: a run only when the pipeline changes).")

    renamed_steps: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Earlier names of its steps, oldest first, by current step name: the steps' resources are "
                    "kept through aliases (works for native and unchanged KFP v1 files alike).",
    )

    @model_validator(mode="after")
    def _step_histories(self) -> "PipelineEntry":
        for step, earlier in self.renamed_steps.items():
            problem = formerly_problem(step, earlier)
            if problem:
                raise ValueError(f"renamed_steps.{step} {problem}")
        return self

    @model_validator(mode="after")
    def _schedule_or_run(self) -> "PipelineEntry":
        if self.schedule is not None and "run" in self.model_fields_set:
            raise ValueError(f"run: {self.run!r} with a schedule: a scheduled pipeline runs on its schedule, never "
                             "at `pulumi up`; `run` applies to pipelines without one (drop one of the two)")
        return self

    @field_validator("component_copies")
    @classmethod
    def _pinned_urls(cls, copies: dict[str, str]) -> dict[str, str]:
        for url in copies:
            if not is_pinned(url):
                raise ValueError(f"component URL {url!r} is not pinned to a commit (40 hex digits) or a sha256 digest")
        return copies

    @field_validator("params")
    @classmethod
    def _identifiers(cls, params: dict[str, ParamValue]) -> dict[str, ParamValue]:
        for key in params:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                raise ValueError(f"parameter name {key!r} is not an identifier")
        return params


def _unique(entries: list[PipelineEntry]) -> list[PipelineEntry]:
    for index, key, held, _ in name_clashes(entries):
        now = key == "name" and any(e.name == held for e in entries if e is not entries[index])
        raise ValueError(f"two pipelines are named {held!r}" if now else
                         f"two pipelines are or were named {held!r} (formerly): their resources would collide")
    return entries


PipelinesConfig = Annotated[list[PipelineEntry], AfterValidator(_unique)]
