"""``PipelineParam``: pipeline parameters and step outputs as strings.

KFP v1 renders a parameter into a string placeholder that its compiler substitutes
later. Here a pipeline's parameters are known when the plan is made, so a parameter *is*
its value (a ``str``); a step output stands for a placeholder that the step receiving
it resolves at run time.
"""

from __future__ import annotations

from typing import Any

from mlplane.components.pipeline.spec import output_placeholder


class PipelineParam(str):
    """A pipeline parameter (its value) or a step output (a run-time placeholder).

    Behaves as the string it stands for, so concatenation, f-strings and ``str()`` in
    pipeline code all work.
    """

    name: str
    op_name: str | None
    owner: str | None
    value: Any
    param_type: Any

    def __new__(cls, name: str, op_name: str | None = None, value: Any = None, param_type: Any = None,
                pattern: str | None = None, owner: str | None = None) -> "PipelineParam":
        if op_name:
            text = output_placeholder(op_name, name)
        elif value is not None:
            text = str(value)
        else:
            text = pattern or ""
        instance = super().__new__(cls, text)
        instance.name = name
        instance.op_name = op_name
        instance.value = value
        instance.param_type = param_type
        # An output whose value the plan knows (a VolumeOp's claim name) keeps KFP's full
        # name (``<op>-<output>``) without being a run-time placeholder.
        instance.owner = owner
        return instance

    @property
    def full_name(self) -> str:
        """``op-output`` for outputs, the name for parameters (as in KFP)."""
        op = self.op_name or self.owner
        return f"{op}-{self.name}" if op else self.name

    # A step's output compared in ``dsl.Condition`` is decided at run time; a pipeline
    # parameter is its value, so comparing it is an ordinary string comparison.
    def _compare(self, operator: str, other: Any, plain: Any) -> Any:
        if self.op_name or (isinstance(other, PipelineParam) and other.op_name):
            from mlplane.pipelines.kfp_v1.api.dsl import ConditionOperator

            return ConditionOperator(operator, self, other)
        return plain(str(self), str(other) if isinstance(other, PipelineParam) else other)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare("==", other, lambda a, b: a == b)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare("!=", other, lambda a, b: a != b)

    def __lt__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare("<", other, lambda a, b: float(a) < float(b))

    def __le__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare("<=", other, lambda a, b: float(a) <= float(b))

    def __gt__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare(">", other, lambda a, b: float(a) > float(b))

    def __ge__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare(">=", other, lambda a, b: float(a) >= float(b))

    __hash__ = str.__hash__

    def ignore_type(self) -> "PipelineParam":
        """Type information is not used here; returns the parameter itself."""
        return self
