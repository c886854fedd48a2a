"""The template files of ``mlplane init`` (package data beside this module)."""

from __future__ import annotations

import re
from importlib import resources

_PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def template(name: str, **values: str) -> str:
    """The text of ``templates/<name>.tmpl`` with each ``@KEY@`` replaced by ``values[KEY]``.

    Raises:
        KeyError: A placeholder is left without a value (a bug of the template or its caller).
    """
    text = resources.files(__package__).joinpath("templates", f"{name}.tmpl").read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = _PLACEHOLDER.findall(text)
    if left:
        raise KeyError(f"templates/{name}.tmpl: no value for {', '.join(sorted(set(left)))}")
    return text
