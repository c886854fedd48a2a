"""mlplane's ``kfp.components``: loading component definitions is refused.

A component fetched from a URL (or a file) at load time would make the plan depend on
something outside the repository and outside review.
"""

from __future__ import annotations

from typing import Any

from pipelines.kfp_v1.context import current


def _refuse(construct: str):  # type: ignore[no-untyped-def]
    def refuse(*_: Any, **__: Any) -> Any:
        raise current().refuse(f"components.{construct}", "components loaded at run time cannot be reviewed "
                                                          "infrastructure; write the step as a dsl.ContainerOp")

    refuse.__name__ = construct
    return refuse


load_component_from_url = _refuse("load_component_from_url")
load_component_from_file = _refuse("load_component_from_file")
load_component_from_text = _refuse("load_component_from_text")
load_component = _refuse("load_component")
func_to_container_op = _refuse("func_to_container_op")
create_component_from_func = _refuse("create_component_from_func")


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise current().refuse(f"components.{name}", "is not supported by mlplane's KFP v1 layer")
