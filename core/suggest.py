""""Did you mean ...?": the closest allowed names to a misspelt one (keys, stacks, functions)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_matches(word: str, choices: Iterable[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` of ``choices`` that look like ``word`` (case-insensitively), best first."""
    options = [str(choice) for choice in choices]
    lowered = {option.lower(): option for option in options}
    found = difflib.get_close_matches(str(word).lower(), list(lowered), n=limit, cutoff=0.6)
    return [lowered[match] for match in found]


def did_you_mean(word: str, choices: Iterable[str], prefix: str = "", suffix: str = "") -> str:
    """``"; did you mean `x`?"`` (or two or three names), or ``""`` when nothing is close.

    Args:
        word: What the user wrote (without ``prefix``).
        choices: The allowed names (without ``prefix``).
        prefix: Put before each suggestion (``mlplane:``), not compared.
        suffix: Put after each suggestion (``:`` after a namespace), not compared.
    """
    matches = close_matches(word, choices)
    if not matches:
        return ""
    return "; did you mean " + " or ".join(f"`{prefix}{m}{suffix}`" for m in matches) + "?"
