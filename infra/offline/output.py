"""Writing a render to disk without ever leaving half of one behind.

The new ``plan.json`` and ``manifests/`` are written into a temporary folder next to the
target and swapped in only when complete. Only those two entries of the target folder
are touched; anything else a user keeps there stays.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from mlplane.infra.offline.manifests import manifest_files
from mlplane.infra.offline.yaml_texts import YamlTexts
from mlplane.infra.offline.plan import Plan


def write_render(plan: Plan, out_dir: Path, texts: YamlTexts | None = None) -> int:
    """Write ``out_dir/plan.json`` and ``out_dir/manifests/`` for ``plan``.

    Args:
        plan: The rendered plan.
        out_dir: The target folder (created if missing).
        texts: Manifest texts of earlier renders to reuse (and to keep for the next).

    Returns:
        The number of manifests written.

    Raises:
        ManifestError: The plan has an incomplete Kubernetes object; nothing is written.
    """
    files = manifest_files(plan, texts)  # fails before anything touches the disk
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".render-", dir=out_dir))
    try:
        manifests = staging / "manifests"
        for relative, text in files.items():
            target = manifests / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        manifests.mkdir(exist_ok=True)
        (staging / "plan.json").write_text(plan.to_json_text(), encoding="utf-8")

        old = out_dir / "manifests"
        if old.exists():
            retired = staging / "manifests.old"
            os.replace(old, retired)
        os.replace(manifests, out_dir / "manifests")
        os.replace(staging / "plan.json", out_dir / "plan.json")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(files)


def write_text_atomically(path: Path, text: str) -> None:
    """Replace a file's content in one step (write a sibling, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
