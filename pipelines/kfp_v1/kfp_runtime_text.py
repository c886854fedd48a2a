"""Program text that KFP 1.8.22 writes into every lightweight component it builds.

A step made from a Python function runs a small program: the function's source, then
helpers that KFP emits (argument parsers, output serializers), then the call. For the
step to run what KFP v1 would run, these helpers must be the same text, byte for byte;
they are the generated program's content (data), not code mlplane runs. Each is the
source KFP 1.8.22 emits from ``kfp/components/_python_op.py`` (parent-folder makers)
and ``kfp/components/_data_passing.py`` (serializers, deserializers), as the oracle
(``tests/test_kfp_oracle.py``, the real compiler) confirms.

Those helper texts are from Kubeflow Pipelines (kubeflow/pipelines, sdk/python, kfp
1.8.22), Copyright The Kubeflow Authors, under the Apache License 2.0, kept unchanged
because the generated program must be the one KFP generates.
"""

from __future__ import annotations

MAKE_PARENT_DIRS = (
    "def _make_parent_dirs_and_return_path(file_path: str):\n"
    "    import os\n"
    "    os.makedirs(os.path.dirname(file_path), exist_ok=True)\n"
    "    return file_path\n"
)

OPEN_FILE_MAKER = (
    "def _parent_dirs_maker_that_returns_open_file(mode: str, encoding: str = None):\n"
    "\n"
    "    def make_parent_dirs_and_return_path(file_path: str):\n"
    "        import os\n"
    "        os.makedirs(os.path.dirname(file_path), exist_ok=True)\n"
    "        return open(file_path, mode=mode, encoding=encoding)\n"
    "\n"
    "    return make_parent_dirs_and_return_path\n"
)

DESERIALIZE_BOOL = (
    "def _deserialize_bool(s) -> bool:\n"
    "    from distutils.util import strtobool\n"
    "    return strtobool(s) == 1\n"
)

DESERIALIZE_PICKLE = (
    "def _deserialize_base64_pickle(s):\n"
    "    import base64\n"
    "    import pickle\n"
    "    return pickle.loads(base64.b64decode(s))\n"
)


def _typed_serializer(kind: str, accepted: str, value: str) -> str:
    return (
        f"def _serialize_{kind}({value}_value: {kind}) -> str:\n"
        + ("" if kind == "str" else f"    if isinstance({value}_value, str):\n        return {value}_value\n")
        + f"    if not isinstance({value}_value, {accepted}):\n"
        f"        raise TypeError('Value \"{{}}\" has type \"{{}}\" instead of {kind}.'.format(\n"
        f"            str({value}_value), str(type({value}_value))))\n"
        + ("    return str_value\n" if kind == "str" else f"    return str({value}_value)\n")
    )


SERIALIZE_JSON = (
    "def _serialize_json(obj) -> str:\n"
    "    if isinstance(obj, str):\n"
    "        return obj\n"
    "    import json\n"
    "\n"
    "    def default_serializer(obj):\n"
    "        if hasattr(obj, 'to_struct'):\n"
    "            return obj.to_struct()\n"
    "        else:\n"
    "            raise TypeError(\n"
    "                \"Object of type '%s' is not JSON serializable and does not have .to_struct() method.\"\n"
    "                % obj.__class__.__name__)\n"
    "\n"
    "    return json.dumps(obj, default=default_serializer, sort_keys=True)\n"
)

SERIALIZE_PICKLE = (
    "def _serialize_base64_pickle(obj) -> str:\n"
    "    if isinstance(obj, str):\n"
    "        return obj\n"
    "    import base64\n"
    "    import pickle\n"
    "    return base64.b64encode(pickle.dumps(obj)).decode('ascii')\n"
)

#: Type names (kfp 1.8.22 ``_data_passing._converters``) -> (serializer name, its source,
#: deserializer expression, the definition the deserializer needs).
CONVERTERS: dict[str, tuple[str, str, str, str | None]] = {}
for _names, _serializer, _source, _deserializer, _definition in (
    (("String", "str"), "_serialize_str", _typed_serializer("str", "str", "str"), "str", None),
    (("Integer", "int"), "_serialize_int", _typed_serializer("int", "int", "int"), "int", None),
    (("Float", "float"), "_serialize_float", _typed_serializer("float", "(float, int)", "float"), "float", None),
    (("Boolean", "Bool", "bool"), "_serialize_bool", _typed_serializer("bool", "bool", "bool"),
     "_deserialize_bool", DESERIALIZE_BOOL),
    (("JsonArray", "List", "list"), "_serialize_json", SERIALIZE_JSON, "json.loads", "import json"),
    (("JsonObject", "Dictionary", "Dict", "dict"), "_serialize_json", SERIALIZE_JSON, "json.loads", "import json"),
    (("Json",), "_serialize_json", SERIALIZE_JSON, "json.loads", "import json"),
    (("Base64Pickle",), "_serialize_base64_pickle", SERIALIZE_PICKLE, "_deserialize_base64_pickle",
     DESERIALIZE_PICKLE),
):
    for _name in _names:
        CONVERTERS[_name] = (_serializer, _source, _deserializer, _definition)

#: Python types with a canonical type name (the first name of their converter).
CANONICAL_TYPE_NAMES: dict[type, str] = {str: "String", int: "Integer", float: "Float", bool: "Boolean",
                                         list: "JsonArray", dict: "JsonObject"}
