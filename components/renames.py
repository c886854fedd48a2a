"""Renames that lose nothing: earlier names become aliases, and data keeps its name.

Renaming an entry of a stack (a volume, a pipeline, a step, a pool) changes the
Pulumi names of its resources, and Pulumi would then create the new ones and delete the
old ones: for a volume, the data goes with it. An entry's ``formerly`` lists its earlier
names, oldest first. mlplane then

* aliases its component to each earlier name, so the engine (and ``mlplane diff``)
  sees the same resources under a new name; children follow their component (the engine
  multiplies out a parent's aliases), and
* keeps the *Kubernetes* name of what holds data at the oldest name, because a claim
  (like any object) cannot be renamed in place: a new name would replace it.

Config models that can be renamed derive from :class:`RenameHistory`; components call
:func:`aliases` and name what holds data after ``data_name``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated

import pulumi
from pydantic import AfterValidator, Field, model_validator

from mlplane.components.base import ArgsModel
from mlplane.core.naming import check_dns_label

FORMERLY_DESCRIPTION = (
    "Earlier names of this entry, oldest first. A rename keeps its resources (aliases) and its data: "
    "claims, node pools and node labels keep the oldest name."
)


def formerly_problem(name: str, formerly: Sequence[str]) -> str | None:
    """Why ``formerly`` cannot be the history of ``name``, or None when it can.

    Args:
        name: The entry's current name.
        formerly: Its earlier names, oldest first.
    """
    if name in formerly:
        return f"lists the current name {name!r}; formerly holds earlier names only"
    repeated = sorted({n for n in formerly if list(formerly).count(n) > 1})
    if repeated:
        return f"lists {', '.join(repeated)} more than once"
    return None


class RenameHistory(ArgsModel):
    """Base of entries that keep their resources and data across renames (``formerly``).

    Subclasses have a ``name`` field (their current name).
    """

    formerly: tuple[Annotated[str, AfterValidator(check_dns_label)], ...] = Field(
        (), description=FORMERLY_DESCRIPTION)

    @model_validator(mode="after")
    def _history(self) -> "RenameHistory":
        problem = formerly_problem(self.name, self.formerly)  # type: ignore[attr-defined]
        if problem:
            raise ValueError(f"formerly {problem}")
        return self

    @property
    def data_name(self) -> str:
        """The name its data was created under: the oldest name (the name, if never renamed)."""
        return data_name(self.name, self.formerly)  # type: ignore[attr-defined]


def name_clashes(entries: Sequence[RenameHistory]) -> Iterator[tuple[int, str, str, int]]:
    """Names, current or earlier, that an entry shares with an entry before it.

    Two entries may not share a name, not even an earlier one: their aliases (and their
    data's names) would collide.

    Yields:
        ``(index, key, name, first)``: the entry's index, ``"name"`` or ``"formerly"``,
        the shared name, and the index of the entry that holds it first.
    """
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        for key, held in (("name", entry.name), *(("formerly", old) for old in entry.formerly)):  # type: ignore[attr-defined]
            if held in seen:
                yield index, key, held, seen[held]
            seen.setdefault(held, index)


def data_name(name: str, formerly: Sequence[str]) -> str:
    """The name data was created under: the oldest name (``name`` when never renamed)."""
    return formerly[0] if formerly else name


def aliases(formerly: Iterable[str], resource_name: Callable[[str], str]) -> list[pulumi.Alias]:
    """Aliases to the Pulumi names the entry had under each earlier name.

    Args:
        formerly: The entry's earlier names.
        resource_name: How the entry's Pulumi resource name is made from its name
            (e.g. ``lambda n: f"volume-{n}"``), so old and new agree by construction.
    """
    return [pulumi.Alias(name=resource_name(old)) for old in formerly]


