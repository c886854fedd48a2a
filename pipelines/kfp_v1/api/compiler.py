"""mlplane's ``kfp.compiler``: there is nothing to compile; the stack renders the plan.

Pipeline files usually guard compilation with ``if __name__ == '__main__':``; mlplane
loads them under another name, so that branch does not run. Calling the compiler
anyway is an error that says what to do instead.
"""

from __future__ import annotations

from typing import Any

from mlplane.pipelines.kfp_v1.context import current


class Compiler:
    """Refuses to compile: list the pipeline under ``mlplane:pipelines`` instead."""

    def compile(self, *_: Any, **__: Any) -> None:
        raise current().refuse("compiler.Compiler.compile", "mlplane does not compile pipelines to Argo; "
                                                            "list the pipeline in the stack file and render it")
