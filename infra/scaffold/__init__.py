"""``mlplane init``: scaffold a platform repository that uses mlplane as a library.

The repository holds what a platform team owns: the Pulumi project (``Pulumi.yaml``, its
name in every URN), a program entry that runs mlplane's stack program, one stack file per
backend, its own ``pipelines/``, a policy pack that runs mlplane's, and the pull-request
workflows for exactly its stacks. mlplane itself is a dependency (``requirements.txt``).
Nothing is overwritten: every file is checked before the first is written.
"""

from __future__ import annotations

from mlplane.infra.scaffold.files import ScaffoldOptions, plan_files, scaffold
from mlplane.infra.scaffold.workflows import workflow_texts

__all__ = ["ScaffoldOptions", "plan_files", "scaffold", "workflow_texts"]
