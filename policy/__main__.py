"""Entry point of the policy pack: ``pulumi preview --policy-pack policy``.

Pulumi runs ``python <this folder>``, which puts this folder (not the repository) first
on ``sys.path``. The pack imports mlplane's ``policy`` package and the helpers it shares
with the components, so the repository's root goes first instead: the pack then works
whether or not mlplane is installed in the virtualenv, and this folder's modules cannot
shadow top-level modules of other packages.
"""

import sys
from pathlib import Path

_PACK = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _PACK]
sys.path.insert(0, str(_PACK.parent))

from policy.pack import serve  # noqa: E402  (after the path fix above)

serve()
