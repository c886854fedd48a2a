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
    """

    stack: str
    file: Path
    base_dir: Path

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
        """How to name this stack to ``mlplane`` in a hint: ``--stack NAME`` for a project's own
        ``Pulumi.NAME.yaml``, else ``--config-file FILE`` (``--stack`` would read another file)."""
        if self.file.name == f"Pulumi.{self.stack}.yaml" and (self.base_dir / "Pulumi.yaml").is_file():
            return f"--stack {self.stack}"
        return f"--config-file {self.file}"

    def resolve(self, relative: str) -> Path:
        """Resolve a path from the stack file against the stack file's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)
