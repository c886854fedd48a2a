"""``mlplane:images``: how the plan's images must be pinned, and the digests that pin them."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from mlplane.components.base import ArgsModel
from mlplane.components.images.refs import DIGEST, parse

SECTION = "mlplane:images"


def check_digest_key(image: str) -> str:
    """A key of ``digests``: an image reference with a tag and no digest (``name:tag``).

    Raises:
        ValueError: Naming the key and the form allowed.
    """
    ref = parse(image)
    if ref is None or ref.tag is None or ref.digest is not None:
        problem = ("is not an image reference" if ref is None else "has no tag" if ref.tag is None
                   else "carries a digest already")
        raise ValueError(f"image {image!r} {problem}; a key must be an image as the plan names it, "
                         "<name>:<tag> (e.g. ghcr.io/kubeflow/kfp-api-server:2.16.0): list them with "
                         "`mlplane images`")
    return image


def check_digest(digest: str) -> str:
    """A value of ``digests``: ``sha256:`` and 64 lowercase hex digits.

    Raises:
        ValueError: Naming the form allowed (and how to get it).
    """
    if DIGEST.fullmatch(digest) is None:
        raise ValueError("must be a digest, sha256:<64 lowercase hex digits> (e.g. what `crane digest IMAGE` "
                         "prints for the image of this key)")
    return digest


class ImagesConfig(ArgsModel):
    """How every image the plan runs must be pinned (a tag other than ``latest`` is the default)."""

    require_digest: bool = Field(
        False,
        description="Refuse every image pinned by tag alone: each image the plan runs (upstream "
                    "charts' and directories' included, where expanded; in containers, env, args and "
                    "ConfigMaps) must carry a @sha256 digest, from upstream or from `digests`. For teams "
                    "that pin by digest.")
    digests: dict[Annotated[str, AfterValidator(check_digest_key)],
                  Annotated[str, AfterValidator(check_digest)]] = Field(
        default_factory=dict,
        description="Digests of images the plan runs, by image as the plan names it: "
                    "{\"ghcr.io/kubeflow/kfp-api-server:2.16.0\": \"sha256:<64 hex>\"}. Every place the plan "
                    "runs that image (mlplane's own objects and charts' and directories' objects, "
                    "containers, env, args, ConfigMaps) then names <image>@sha256:...; the tag stays for "
                    "readers, Kubernetes pulls by the digest. `mlplane images --stack NAME` prints the "
                    "skeleton to fill. Default: none.")
