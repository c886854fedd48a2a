"""``mlplane:images``: how the plan's images must be pinned."""

from __future__ import annotations

from pydantic import Field

from mlplane.components.base import ArgsModel

SECTION = "mlplane:images"


class ImagesConfig(ArgsModel):
    """How every image the plan runs must be pinned (a tag other than ``latest`` is the default)."""

    require_digest: bool = Field(
        False,
        description="Refuse every image pinned by tag alone: each container image of the plan (upstream "
                    "charts' and directories' included, where expanded) and KFP's cache image must carry a "
                    "@sha256 digest. For teams that pin by digest.")
