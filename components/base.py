"""Building blocks shared by every component's args and every stack-config model.

Component args double as stack-config models (the stack file's JSON schema is made from
them), so they share one base. All of them are frozen (a validated config never changes under the program's
feet), forbid unknown keys (a typo is an error, not a silent default) and describe every
field (``mlplane schema`` turns the descriptions into editor help).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, GetCoreSchemaHandler, ValidationInfo
from pydantic_core import PydanticCustomError, core_schema

from mlplane.core.credentials import (
    PUBLISHED_MASK,
    SECRET_MASK,
    is_credential_key,
    masked_credentials,
    plain_credentials,
)

__all__ = ["PUBLISHED_MASK", "SECRET_MASK", "is_credential_key", "masked_credentials", "plain_credentials"]


def check_helm_values(values: dict[str, Any]) -> dict[str, Any]:
    """Refuse Helm values that hold a credential in plain text.

    Values go into the plan and the Pulumi state as written; a chart's credential belongs
    in a Kubernetes Secret the chart reads (its ``existingSecret``-style value).

    Raises:
        ValueError: Naming each key path of a plain credential (never the credential).
    """
    found = plain_credentials(values)
    if found:
        where = ", ".join(".".join(str(p) for p in path) for path in found)
        raise ValueError(f"holds a credential in plain text at {where}; keep it in a Kubernetes Secret and give "
                         "the chart that Secret's name (its existingSecret-style value)")
    return values


#: Helm values of a wrapped chart, refused when they hold a plain credential.
HelmValues = Annotated[dict[str, Any], AfterValidator(check_helm_values)]


#: What an undecryptable ``secure:`` value stands for in an offline render. It only ever
#: reaches the plan wrapped as a Pulumi secret, so it is written out as ``[secret]``.
OFFLINE_SECRET_PLACEHOLDER = "offline-secret-placeholder"


class ArgsModel(BaseModel):
    """Base class of component args and config models: frozen, strict about keys, described."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class SecretValue:
    """A credential from the stack config; never printed, only passed on as a secret.

    Offline, ``secure:`` entries of a stack file cannot be decrypted: the value is then
    unknown (``None``) and :meth:`as_output` stands in a placeholder, which the offline
    plan records as ``[secret]`` like every other secret.
    """

    is_secret = True
    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value

    @property
    def known(self) -> bool:
        """Whether the plain value is available (False for offline ``secure:`` entries)."""
        return self._value is not None

    def reveal(self) -> str | None:
        """Return the plain value; only for code that hands it straight to a secret."""
        return self._value

    def as_output(self) -> pulumi.Output[str]:
        """Return the value as a Pulumi secret output, ready to be a resource input."""
        return pulumi.Output.secret(self._value if self._value is not None else OFFLINE_SECRET_PLACEHOLDER)

    def __repr__(self) -> str:
        return f"SecretValue({SECRET_MASK})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("SecretValue", self._value))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(
            _validate_secret,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: SECRET_MASK),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return {
            "description": "A secret: a `secure:` entry (pulumi config set --secret --path ...).",
            "anyOf": [
                {"type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"],
                 "additionalProperties": False},
                {"type": "string"},
            ],
        }


def _validate_secret(value: Any, info: ValidationInfo) -> SecretValue:
    """Accept a secret: a ``secure:`` entry, or a plain string where the engine vouches.

    The Pulumi engine decrypts ``secure:`` values before the program sees them and marks
    the whole config key as secret; the loader passes ``plain_secrets_ok`` in the
    validation context for such keys. A plain string anywhere else is a credential
    written in clear text into a stack file, which mlplane refuses.
    """
    if isinstance(value, SecretValue):
        return value
    if isinstance(value, str):
        context = info.context or {}
        if context.get("plain_secrets_ok"):
            return SecretValue(value)
        raise PydanticCustomError(
            "secret_in_plain_text",
            "is a credential written in plain text; store it as a secret with "
            "`pulumi config set --secret --path <key path>` (it prompts for the value without echo)",
        )
    raise PydanticCustomError("secret_type", "must be a secret string (a `secure:` entry)")


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a combination of settings, found by a pure check.

    Component modules report these; the config rules turn them into stack-file errors
    (prefixing the section's key path).

    Attributes:
        path: Key path inside the checked settings, e.g. ``("replicas", "min")``.
        message: What is wrong.
        value: The offending value.
        allowed: What would be accepted.
    """

    path: tuple[Any, ...]
    message: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return f"{where}: {self.message} (got {self.value!r}; allowed: {self.allowed})"


def depends_of(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """A component's own ``depends_on``, as a list, for its children.

    Children do not inherit their component's dependencies; components that want each
    child to show (and keep) those edges pass this list on.
    """
    if opts is None or opts.depends_on is None:
        return []
    depends = opts.depends_on
    return list(depends) if isinstance(depends, (list, tuple)) else [depends]  # type: ignore[list-item]
