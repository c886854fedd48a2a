"""Where a stack's config came from: needed for messages and relative paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackSource:
    """The origin of a stack config.

    Attributes:
        stack: The stack name (``dev`` for ``Pulumi.dev.yaml``).
        file: The stack file, as the user named it (used in messages).
        base_dir: The folder that relative paths in the file resolve against.
        argument: How the user named the stack on the command line, where not by
            ``--stack NAME`` (``--config-file FILE``).
        project: The Pulumi project's name (``name:`` in its Pulumi.yaml), part of every URN.
    """

    stack: str
    file: Path
    base_dir: Path
    argument: str | None = None
    project: str = "mlplane"

    @property
    def display(self) -> str:
        """The file name as shown in messages."""
        return str(self.file)

    @property
    def baseline(self) -> Path:
        """Where ``mlplane preview --save`` keeps this stack's baseline plan: beside its stack file.

        A project's stacks keep theirs in the project's ``.mlplane/baselines/``; a stack file
        elsewhere (``--config-file``) keeps its own, never overwriting the project's.
        """
        return self.base_dir / ".mlplane" / "baselines" / f"{self.stack}.json"

    @property
    def command_argument(self) -> str:
        """How to name this stack to ``mlplane`` in a hint, as the user did: ``--stack NAME``,
        or ``--config-file FILE`` for a file given so (``--stack`` would read another file)."""
        return self.argument or f"--stack {self.stack}"

    def resolve(self, relative: str) -> Path:
        """Resolve a path from the stack file against the stack file's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)
