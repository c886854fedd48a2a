"""The stack configuration: pydantic models, reading and validation."""

from mlplane.infra.config.loader import load_stack_file, validate_config
from mlplane.infra.config.source import StackSource
from mlplane.infra.config.stack import StackConfig

__all__ = ["StackConfig", "StackSource", "load_stack_file", "validate_config"]
