"""The pull-request workflows for a set of stacks (``.github/workflows/``).

mlplane's own repository ships the same two files, made by :func:`workflow_texts` for its
stacks (tests/test_init.py checks they are identical), so the workflow a team gets is the
one mlplane runs on itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlplane.infra.scaffold.backends import BACKENDS
from mlplane.infra.scaffold.templates import template


def workflow_texts(stacks: Mapping[str, str]) -> dict[str, str]:
    """``preview.yml`` and ``preview-comment.yml`` for ``stacks`` (stack name -> backend name).

    The preview diffs exactly these stacks, installs the extras their backends need and,
    for those on a cloud, runs ``pulumi preview`` where the repository has the secrets.
    """
    extras = cloud_extras(list(stacks.values()))
    cloud = [s for s, b in stacks.items() if BACKENDS[b].extra]  # a cloud's stacks (its SDK, its credentials)
    job = template("workflows/pulumi-preview.yml", CLOUD_STACKS=", ".join(cloud),
                   INSTALL_STEP=_install_step("if: env.PULUMI_ACCESS_TOKEN != ''")) if cloud else ""
    verify = template("workflows/verify.yml", INSTALL_STEP=_install_step(None)).rstrip("\n")
    preview = template("workflows/preview.yml", STACKS=" ".join(stacks), EXTRAS=",".join(extras),
                       INSTALL_STEP=_install_step(None), VERIFY=verify, PULUMI_PREVIEW=job.rstrip("\n"))
    return {"preview.yml": preview.rstrip("\n") + "\n", "preview-comment.yml": template("workflows/preview-comment.yml")}


def _install_step(condition: str | None) -> str:
    """The step that installs requirements.txt and the extras in MLPLANE_EXTRAS (one text for both jobs)."""
    return template("workflows/install-step.yml", IF=f"{condition}\n        " if condition else "").rstrip("\n")


def cloud_extras(backends: Sequence[str]) -> list[str]:
    """The extras of ``backends`` that install a cloud SDK, sorted."""
    return sorted({BACKENDS[b].extra for b in backends if BACKENDS[b].extra})
