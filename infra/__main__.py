"""The Pulumi program: ``pulumi preview`` / ``pulumi up`` run this file.

It reads and validates the stack config, then declares everything through
``build(config)``. Bad config stops the run with the same message the offline render
gives, before any resource is registered.
"""

from __future__ import annotations

import sys

import pulumi

from mlplane.infra.engine_config import load_engine_config
from mlplane.core.errors import InputError
from mlplane.infra.prerequisites import prerequisites
from mlplane.infra.program import build


def main() -> None:
    """Validate the config and build the stack; exit 2 on bad input.

    The cluster prerequisites the plan does not install (drivers, controllers) are logged,
    so a real ``pulumi preview`` lists them as ``mlplane preview`` does.
    """
    try:
        config = load_engine_config()
        for item in prerequisites(config):
            pulumi.log.info(f"prerequisite {item.name} (for {item.needed_by}): check with `{item.check}`; "
                            f"install: {item.install}")
        build(config)
    except InputError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)


main()
