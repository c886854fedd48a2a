"""mlplane's ``kfp.components``: loading component definitions is refused.

A component fetched from a URL (or a file) at load time would make the plan depend on
something outside the repository and outside review.
"""

from __future__ import annotations

from pipelines.kfp_v1.context import refusing, unsupported_attributes


_REASON = "components loaded at run time cannot be reviewed infrastructure; write the step as a dsl.ContainerOp"

load_component_from_url = refusing("components.load_component_from_url", _REASON)
load_component_from_file = refusing("components.load_component_from_file", _REASON)
load_component_from_text = refusing("components.load_component_from_text", _REASON)
load_component = refusing("components.load_component", _REASON)
func_to_container_op = refusing("components.func_to_container_op", _REASON)
create_component_from_func = refusing("components.create_component_from_func", _REASON)

__getattr__ = unsupported_attributes("components")
