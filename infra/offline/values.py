"""Turning the wire form of resource inputs into plain, secret-free JSON values.

The SDK sends inputs to the engine as a protobuf ``Struct`` in which secrets, unknowns,
resource references and assets are special objects. The plan records them as plain JSON
with those replaced by markers, so no secret value can leave the render.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import rpc

from mlplane.components.base import SECRET_MASK

UNKNOWN_MASK = "[unknown]"

_SIG = rpc._special_sig_key  # noqa: SLF001 - the wire protocol's own constants
_SECRET = rpc._special_secret_sig  # noqa: SLF001
_RESOURCE = rpc._special_resource_sig  # noqa: SLF001
_ASSET = rpc._special_asset_sig  # noqa: SLF001
_ARCHIVE = rpc._special_archive_sig  # noqa: SLF001
_OUTPUT = rpc._special_output_value_sig  # noqa: SLF001


def struct_to_plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Convert a registration's input ``Struct`` into plain JSON values.

    Args:
        struct: ``RegisterResourceRequest.object``.

    Returns:
        A dict with secrets as ``"[secret]"``, unknowns as ``"[unknown]"``, resource
        references as ``{"$ref": urn}`` and integral numbers as ints.
    """
    return {key: _value(value) for key, value in struct.fields.items()}


def _value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return _special_or_map(value.struct_value)
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    if kind == "string_value":
        return UNKNOWN_MASK if value.string_value == rpc.UNKNOWN else value.string_value
    if kind == "number_value":
        number = value.number_value
        # Struct has only doubles; Kubernetes and the plan want ints where they are ints.
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "bool_value":
        return value.bool_value
    return None


def _special_or_map(struct: struct_pb2.Struct) -> Any:
    fields = struct.fields
    signature = fields[_SIG].string_value if _SIG in fields else None
    if signature == _SECRET:
        return _masked(fields["value"]) if "value" in fields else SECRET_MASK
    if signature == _OUTPUT:
        if "secret" in fields and fields["secret"].bool_value:
            return _masked(fields["value"]) if "value" in fields else SECRET_MASK
        return _value(fields["value"]) if "value" in fields else UNKNOWN_MASK
    if signature == _RESOURCE:
        return {"$ref": fields["urn"].string_value}
    if signature in (_ASSET, _ARCHIVE):
        return "[asset]"
    return {key: _value(item) for key, item in fields.items()}


def _masked(value: struct_pb2.Value) -> Any:
    """A secret's shape without its content: a secret map keeps its keys (``stringData``
    stays a map, so manifests stay valid Kubernetes); every value is ``[secret]``."""
    if value.WhichOneof("kind") == "struct_value" and _SIG not in value.struct_value.fields:
        return {key: _masked(item) for key, item in value.struct_value.fields.items()}
    return SECRET_MASK
