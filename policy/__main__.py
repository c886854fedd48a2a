"""Entry point of the policy pack: ``pulumi preview --policy-pack policy``.

Pulumi runs ``python <this folder>``, which puts this folder first on ``sys.path``. The
pack is mlplane's installed ``mlplane.policy`` package (``pip install 'mlplane[policy]'``),
so this folder is taken off the path: its modules cannot shadow top-level modules of
other packages.
"""

import sys
from pathlib import Path

_PACK = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _PACK]

from mlplane.policy.pack import serve  # noqa: E402  (after the path fix above)

serve()
