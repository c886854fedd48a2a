"""Rendering a stack offline: validated config in, plan out (expanded where sources are at hand)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mlplane.infra.config import StackConfig
from mlplane.infra.errors import input_error
from mlplane.infra.offline.plan import Plan
from mlplane.infra.offline.portable import portable_plan
from mlplane.infra.offline.runner import run_offline
from mlplane.infra.program import build

if TYPE_CHECKING:
    from mlplane.infra.offline.expand.engine import ExpandOptions, Expansion
    from mlplane.infra.offline.expand.errors import ExpansionError


def render_config(config: StackConfig) -> Plan:
    """Run the stack program for ``config`` under the mock runtime and return its plan.

    Raises:
        InputError: The program found bad input (before registering anything).
    """
    plan = run_offline(lambda: build(config), stack=config.source.stack)
    refuse_tags(config, plan)
    return plan


def refuse_tags(config: StackConfig, plan: Plan) -> None:
    """Under ``mlplane:images.require_digest``, refuse a plan with an image pinned by tag alone.

    Raises:
        InputError: Naming the stack file, the key, the first such image and how many there are.
    """
    if not config.images.require_digest:
        return
    from mlplane.infra.offline.images import tag_only

    found = tag_only(plan)
    if found:
        name, image = found[0]
        raise input_error(config.source.display, "mlplane:images.require_digest",
                          f"true, but {len(found)} image(s) of the plan are pinned by tag alone (first: {name})",
                          value=image, allowed="every image as <name>@sha256:<64 hex digits>, or "
                                               "require_digest: false")


def render_expanded(config: StackConfig, options: "ExpandOptions") -> "Expansion":
    """Render, then expand every chart and directory whose sources ``options`` can find.

    Local source folders inside the project root are recorded relative to it
    (:func:`infra.offline.portable.portable_plan`), so plans do not depend on the checkout.

    Raises:
        InputError: Bad input, in the stack or in what it asks of a source (a version
            the sources do not hold, values a chart's schema rejects, ...), naming the
            stack file, the chart or directory and its input.
    """
    from mlplane.infra.offline.expand.engine import ExpansionError, expand_plan

    plan = render_config(config)
    try:
        expansion = expand_plan(plan, options)
    except ExpansionError as exc:
        raise input_error(config.source.display, _stack_key(config, exc), f"{exc.problem} ({exc.resource})",
                          value=exc.value, allowed=exc.allowed) from None
    refuse_tags(config, expansion.plan)
    # Expanded from the real folders; recorded relative to the project, so checkouts agree.
    return replace(expansion, plan=portable_plan(expansion.plan, config.source.base_dir))


def _stack_key(config: StackConfig, error: "ExpansionError") -> str:
    """The stack-file key that set what a source refused: a component's ``version`` or
    ``values`` where the stack overrides them, else the release train that pinned it."""
    kubeflow = config.kubeflow
    if kubeflow is None:
        return f"{error.resource}.{error.key}"
    settings = {key: value for key, value in kubeflow.components if value is not None}
    wanted = "values" if error.key == "values" else "version"
    # Resource names carry the component's key (``platform-auth-dex``, ``platform-apps-katib-katib``).
    named = [key for key in settings if key.replace("_", "-") in error.resource]
    for key in named:
        override = getattr(settings[key], wanted, None)
        if override and (wanted == "values" or str(override) in str(error.value)):
            return f"mlplane:kubeflow.components.{key}.{wanted}"
    return "mlplane:kubeflow.release" if wanted == "version" else f"{error.resource}.{error.key}"
