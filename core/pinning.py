"""Whether a URL names one immutable version of what it points at."""

from __future__ import annotations

import re

#: A commit in the path, a ``?ref=`` commit, or a sha256 digest.
_PINNED = re.compile(r"(/[0-9a-f]{40}/)|(@sha256:[0-9a-f]{64})|([?&]ref=[0-9a-f]{40}\b)")


def is_pinned(url: str) -> bool:
    """Whether ``url`` names one immutable version (a commit in its path, or a digest)."""
    return bool(_PINNED.search(url))
