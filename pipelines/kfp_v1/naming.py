"""Names as KFP 1.8.22 makes them (``kfp/components/_naming.py``, ``kfp/dsl/_pipeline.py``)."""

from __future__ import annotations

import re
from collections.abc import Collection


def normalize_identifier(name: str) -> str:
    """Lower case, words separated by single spaces, no leading digit."""
    normalized = re.sub(r"[\W_]", " ", name.lower())
    normalized = re.sub(" +", " ", normalized).strip()
    if re.match(r"\d", normalized):
        normalized = "n" + normalized
    return normalized


def python_name(name: str) -> str:
    """``Input data`` -> ``input_data`` (a component input's keyword in Python)."""
    return normalize_identifier(name).replace(" ", "_")


def make_unique(name: str, taken: Collection[str], delimiter: str) -> str:
    """``name``, or ``name<delimiter>2``, ``...3``: the first not in ``taken``."""
    if name not in taken:
        return name
    index = 2
    while f"{name}{delimiter}{index}" in taken:
        index += 1
    return f"{name}{delimiter}{index}"


def op_name(human_name: str, taken: Collection[str]) -> str:
    """The unique name KFP gives an op in its pipeline: ``Train model`` -> ``train-model``,
    a second ``train-model`` -> ``train-model-2``; an empty name -> ``task``."""
    name = python_name(human_name).replace("_", "-")
    name = make_unique(name, taken, "-")
    return name if name else make_unique("task", taken, "-")


def file_name(port: str) -> str:
    """A port name as a file-name segment (``/tmp/outputs/<segment>/data``)."""
    return re.sub(r"[^-_.0-9a-zA-Z]+", "_", port)


def unique_python_names(names: list[str]) -> dict[str, str]:
    """Each name's Python keyword, made unique with ``_2``... (``generate_unique_name_conversion_table``)."""
    table = {name: name for name in names if python_name(name) == name}
    for name in names:
        if name not in table:
            table[name] = make_unique(python_name(name), set(table.values()), "_")
    return table
