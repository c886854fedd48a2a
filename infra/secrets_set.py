"""``mlplane secrets --set``: store missing secrets through the Pulumi CLI, never echoing them.

Each value is read with :func:`getpass.getpass` (no echo) and handed to
``pulumi config set --secret --path KEY`` on its standard input: with no value argument
and a standard input that is not a terminal, Pulumi reads the value from it and strips
the trailing newline (pulumi/pulumi, pkg/cmd/pulumi/config/config_set.go), so the value
never appears on a command line, in the process list or in mlplane's output.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
import sys
from pathlib import Path

from mlplane.infra.config.secrets import SecretSlot
from mlplane.core.errors import input_error

EXIT_OK, EXIT_FAILED = 0, 2


def pulumi_set_command(slot: SecretSlot, stack: str, config_file: Path | None) -> list[str]:
    """The argument list of the ``pulumi config set`` call for one secret (no value: it goes to stdin)."""
    command = ["pulumi", "config", "set", "--stack", stack, "--secret", "--path", slot.key]
    if config_file is not None:
        command[3:3] = ["--config-file", str(config_file)]
    return command


def set_secrets(slots: list[SecretSlot], stack: str, root: Path, config_file: Path | None) -> int:
    """Prompt for each slot's value and store it with the Pulumi CLI.

    An empty answer skips that secret. Returns 0 when every answered secret was stored.

    Raises:
        InputError: The Pulumi CLI is not installed.
    """
    if not slots:
        print("Nothing to set: every required secret has a value.", file=sys.stderr)
        return EXIT_OK
    if shutil.which("pulumi") is None:
        raise input_error("command line", "--set", "the Pulumi CLI is not on PATH", value="pulumi",
                          allowed="install the Pulumi CLI (see docs/running.md), or run the commands above yourself")
    failed = 0
    for slot in slots:
        about = f" ({slot.about})" if slot.about else ""
        value = getpass.getpass(f"{slot.key}{about} [{slot.description}; empty to skip]: ")
        if not value:
            print(f"skipped {slot.key}", file=sys.stderr)
            continue
        result = subprocess.run(pulumi_set_command(slot, stack, config_file), input=value + "\n", text=True,
                                cwd=root, capture_output=True, check=False)
        if result.returncode != 0:
            failed += 1
            # Pulumi's own message; it never contains the value (it was not on the command line).
            print(f"error: pulumi config set {slot.key} failed (exit {result.returncode}): "
                  f"{result.stderr.strip()}", file=sys.stderr)
        else:
            print(f"set {slot.key}", file=sys.stderr)
    return EXIT_OK if failed == 0 else EXIT_FAILED
