"""The JSON Schema of a stack file, for editors (``mlplane schema``).

Made from the config models' own field descriptions, so it cannot drift from what the
loader accepts.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from mlplane.infra.config.loader import PROVIDER_NAMESPACES
from mlplane.infra.config.stack import NAMESPACE, StackConfig
from mlplane.infra.config.stackfile import TOP_LEVEL_KEYS


def stack_file_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``Pulumi.<stack>.yaml`` for mlplane."""
    _, top = models_json_schema([(StackConfig, "validation")], ref_template="#/$defs/{model}")
    defs = top.get("$defs", {})
    stack = defs.pop("StackConfig")
    sections = {f"{NAMESPACE}:{name}": schema for name, schema in stack["properties"].items()}
    required = [f"{NAMESPACE}:{name}" for name in stack.get("required", [])]
    providers = "|".join(p.replace("-", "\\-") for p in PROVIDER_NAMESPACES)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mlplane.dev/schema/stack-file.json",
        "title": "mlplane stack file (Pulumi.<stack>.yaml)",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "config": {
                "type": "object",
                "description": "Stack configuration: mlplane's sections and provider settings.",
                "properties": sections,
                "required": required,
                "patternProperties": {f"^({providers}):": {}},
                "additionalProperties": False,
            },
            **{key: {"type": "string"} for key in TOP_LEVEL_KEYS if key not in ("config", "environment")},
            "environment": {"description": "Pulumi ESC environments to import."},
        },
        "required": ["config"],
        "$defs": defs,
    }
