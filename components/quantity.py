"""Kubernetes resource quantities (``500m``, ``2Gi``, ``1e3``): checked at plan time.

The grammar is Kubernetes' own (``resource.Quantity``); comparisons use the official
client's parser, imported only when a comparison is needed (it is slow to import).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator

_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")


def check_quantity(value: str) -> str:
    """Validate a quantity string such as ``250m`` or ``10Gi``.

    Raises:
        ValueError: Not a Kubernetes quantity.
    """
    if not isinstance(value, str) or not _QUANTITY.match(value):
        raise ValueError("must be a Kubernetes quantity such as 500m, 2, 512Mi or 10Gi")
    return value


def parse_quantity(value: str) -> Decimal:
    """The numeric value of a quantity (``"1Gi"`` -> ``1073741824``)."""
    from kubernetes.utils.quantity import parse_quantity as parse  # slow import, on demand

    return parse(value)


#: A pydantic type for quantity fields.
Quantity = Annotated[str, AfterValidator(check_quantity)]
