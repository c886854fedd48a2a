"""The Pulumi program: ``pulumi preview`` / ``pulumi up`` run this file.

It reads and validates the stack config, then declares everything through
``build(config)``. Bad config stops the run with the same message the offline render
gives, before any resource is registered.
"""

from __future__ import annotations

import sys

from infra.engine_config import load_engine_config
from infra.errors import InputError
from infra.program import build


def main() -> None:
    """Validate the config and build the stack; exit 2 on bad input."""
    try:
        build(load_engine_config())
    except InputError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)


main()
