"""The hyperparameter-search step as plain data: a Katib ``Experiment`` and its checks.

A step of kind ``experiment`` searches a parameter space with Katib: trials run the
step's trial container with each suggested assignment (written in the trial's command
and arguments as Katib's ``${trialParameters.<name>}``), report the objective metric on
stdout (Katib's default StdOut collector reads ``<metric>=<value>`` lines), and the step
finishes when the Experiment has succeeded. Its outputs are the best trial's parameter
values, one output per parameter, which later steps read like any step output.

Field names follow Katib's v1beta1 API (kubeflow/katib
pkg/apis/controller/experiments/v1beta1/experiment_types.go: ParameterSpec,
FeasibleSpace, TrialTemplate; the algorithm names are the suggestions that
katib-config.yaml of both release trains configures, tested against it).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.components.pod_security import ResourceOverrides
from mlplane.components.scheduling import AcceleratorRequest

#: The search algorithms mlplane offers (Katib suggestions of both trains' katib-config;
#: early-stopping and NAS algorithms are not hyperparameter searches).
ALGORITHMS: tuple[str, ...] = ("random", "grid", "tpe", "multivariate-tpe", "bayesianoptimization", "cmaes",
                               "sobol")
Algorithm = Literal["random", "grid", "tpe", "multivariate-tpe", "bayesianoptimization", "cmaes", "sobol"]

_PARAMETER = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
_REFERENCE = re.compile(r"\$\{trialParameters\.([^}]*)\}")


def _check_parameter_name(value: str) -> str:
    if not _PARAMETER.match(value):
        raise ValueError("must start with a letter and hold letters, digits, '_' and '-' (at most 63)")
    return value


ParameterName = Annotated[str, AfterValidator(_check_parameter_name)]


def trial_references(text: str) -> list[str]:
    """The parameters a trial's command or argument refers to (``${trialParameters.<name>}``)."""
    return _REFERENCE.findall(text)


def trial_reference(name: str) -> str:
    """How a trial's command or argument refers to a parameter."""
    return "${trialParameters." + name + "}"


class SearchParameter(ArgsModel):
    """One dimension of the search space."""

    name: ParameterName = Field(description="The parameter's name; also the name of the step's output.")
    type: Literal["double", "int", "discrete", "categorical"] = Field(
        description="double or int (a range: min, max, optional step), discrete (numbers) or categorical "
                    "(strings) from values.")
    min: float | None = Field(None, description="Lower bound (double, int).")
    max: float | None = Field(None, description="Upper bound (double, int).")
    step: float | None = Field(None, description="Grid step (double, int); grid search needs it for doubles.")
    values: tuple[str | float, ...] = Field((), description="The choices (discrete, categorical).")

    @model_validator(mode="after")
    def _space(self) -> "SearchParameter":
        if self.type in ("double", "int"):
            if self.values:
                raise ValueError(f"a {self.type} parameter is a range (min, max), not values")
            if self.min is None or self.max is None:
                raise ValueError(f"a {self.type} parameter needs min and max")
            if not (math.isfinite(self.min) and math.isfinite(self.max)):
                raise ValueError("min and max must be finite numbers")
            if self.min >= self.max:
                raise ValueError(f"min {self.min:g} must be below max {self.max:g}: the range is empty")
            if self.type == "int" and not (float(self.min).is_integer() and float(self.max).is_integer()):
                raise ValueError("an int parameter needs whole-number min and max")
            if self.step is not None:
                if not math.isfinite(self.step) or self.step <= 0:
                    raise ValueError("step must be a positive number")
                if self.step > self.max - self.min:
                    raise ValueError(f"step {self.step:g} is larger than the range {self.min:g}..{self.max:g}")
                if self.type == "int" and not float(self.step).is_integer():
                    raise ValueError("an int parameter needs a whole-number step")
        else:
            if self.min is not None or self.max is not None or self.step is not None:
                raise ValueError(f"a {self.type} parameter takes values, not min, max or step")
            if not self.values:
                raise ValueError(f"a {self.type} parameter needs at least one value")
            texts = [_text(v) for v in self.values]
            if len(set(texts)) != len(texts):
                raise ValueError("values repeat")
            if self.type == "discrete" and not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   and math.isfinite(v) for v in self.values):
                raise ValueError("a discrete parameter takes numbers; use categorical for strings")
        return self

    def feasible_space(self) -> dict[str, Any]:
        """Katib's ``feasibleSpace`` (strings, as the API has them)."""
        if self.type in ("double", "int"):
            space = {"min": _text(self.min, self.type == "int"), "max": _text(self.max, self.type == "int")}
            if self.step is not None:
                space["step"] = _text(self.step, self.type == "int")
            return space
        return {"list": [_text(v) for v in self.values]}


def _text(value: Any, whole: bool = False) -> str:
    if isinstance(value, float) and (whole or value.is_integer()) and not isinstance(value, bool):
        return str(int(value))
    return str(value)


class Objective(ArgsModel):
    """What the search optimises: a metric the trials print as ``<metric>=<value>``."""

    type: Literal["maximize", "minimize"] = Field(description="maximize or minimize the metric.")
    metric: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$",
                        description="The objective metric's name, as the trials print it.")
    goal: float | None = Field(None, description="Stop once a trial reaches it.")
    additional_metrics: tuple[str, ...] = Field((), description="Further metrics to record.")


class TrialSpec(ArgsModel):
    """The container each trial runs (a Job's one container)."""

    image: str = Field(min_length=1, description="Container image, pinned.")
    command: tuple[str, ...] = Field(
        min_length=1, description="Entrypoint; Katib's metrics collector wraps it, so it must be given.")
    args: tuple[str, ...] = Field((), description="Arguments; ${trialParameters.<name>} stands for a parameter.")
    env: tuple[dict[str, Any], ...] = Field((), description="Kubernetes EnvVar objects.")
    resources: ResourceOverrides = Field(default_factory=ResourceOverrides, description="CPU and memory.")
    accelerator: AcceleratorRequest | None = Field(None, description="Accelerators, placed on the stack's pools.")
    volumes: tuple[dict[str, Any], ...] = Field((), description="Kubernetes Volume objects.")
    volume_mounts: tuple[dict[str, Any], ...] = Field((), description="Kubernetes VolumeMount objects.")
    timeout_seconds: int | None = Field(None, ge=1, description="Fail a trial after this long.")


class ExperimentStepSpec(ArgsModel):
    """A hyperparameter search (a Katib Experiment) as a pipeline step."""

    kind: Literal["experiment"] = Field("experiment", description="A hyperparameter-search step.")
    name: str = Field(min_length=1, description="The step's name, unique in its pipeline.")
    objective: Objective = Field(description="The metric to optimise.")
    algorithm: Algorithm = Field("random", description="Katib's search algorithm.")
    parameters: tuple[SearchParameter, ...] = Field(description="The search space.")
    trial: TrialSpec = Field(description="What each trial runs.")
    max_trials: int = Field(12, ge=1, le=10000, description="Succeed after this many trials.")
    parallel_trials: int = Field(3, ge=1, le=1000, description="Trials that run at once.")
    max_failed_trials: int = Field(3, ge=0, le=10000, description="Fail the search after this many failed trials.")
    timeout_seconds: int | None = Field(None, ge=1, description="How long Pulumi waits for the search.")
    after: tuple[str, ...] = Field((), description="Steps that must finish first.")

    @model_validator(mode="after")
    def _coherent(self) -> "ExperimentStepSpec":
        if not self.parameters:
            raise ValueError(f"step {self.name!r}: the search space is empty; give at least one parameter")
        names = [p.name for p in self.parameters]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"step {self.name!r}: parameters named twice: {', '.join(twice)}")
        if self.parallel_trials > self.max_trials:
            raise ValueError(f"step {self.name!r}: parallel_trials {self.parallel_trials} exceeds max_trials "
                             f"{self.max_trials}")
        used = [ref for text in (*self.trial.command, *self.trial.args) for ref in trial_references(text)]
        unknown = sorted(set(used) - set(names))
        if unknown:
            raise ValueError(f"step {self.name!r}: the trial refers to undeclared parameters: "
                             f"{', '.join(unknown)} (declared: {', '.join(names)})")
        unused = [n for n in names if n not in used]
        if unused:
            raise ValueError(f"step {self.name!r}: parameters the trial never receives: {', '.join(unused)}; "
                             f"pass each as {trial_reference(unused[0])} in the trial's command or args")
        if self.algorithm == "grid":
            gridless = [p.name for p in self.parameters if p.type == "double" and p.step is None]
            if gridless:
                raise ValueError(f"step {self.name!r}: grid search needs a step for double parameters: "
                                 f"{', '.join(gridless)}")
        return self

    @property
    def outputs(self) -> tuple[str, ...]:
        """The step's outputs: the best value of each parameter."""
        return tuple(p.name for p in self.parameters)
