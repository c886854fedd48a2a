"""The stack configuration: pydantic models, reading and validation."""

from infra.config.loader import load_stack_file, validate_config
from infra.config.source import StackSource
from infra.config.stack import StackConfig

__all__ = ["StackConfig", "StackSource", "load_stack_file", "validate_config"]
