"""README opens with the two commands, and CI runs the second one."""

from __future__ import annotations

import re
import subprocess

from .conftest import ROOT


def opening_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    head = text.split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", head, flags=re.S)


def test_readme_opens_with_exactly_two_commands() -> None:
    commands = opening_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "mlplane preview" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    extracted = subprocess.run(["bash", str(ROOT / ".ci" / "run"), "--print"],
                               capture_output=True, text=True, check=True).stdout
    assert extracted == opening_commands()[1] + "\n"
