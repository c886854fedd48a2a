"""The images mlplane chooses itself, proven against the Docker official images' own records.

``tests/data/images`` holds copies of docker-library/official-images ``library/python`` (the
tags Docker Hub publishes ``python`` under) and of docker-library/repo-info's record of one
tag (the digest of the index the registry serves for it); its README gives repository,
commit and path of each.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from mlplane.components.pipeline.experiment_step import READER_IMAGE
from mlplane.components.pod_security import image_problem

DATA = Path(__file__).resolve().parent / "data" / "images" / "docker-library"
LIBRARY_PYTHON = DATA / "official-images" / "library" / "python"
#: The git blob of ``library/python`` at docker-library/official-images@73f6781860cc5c7cc01c3cefc6f1ee32ff4b894c.
LIBRARY_PYTHON_BLOB = "c070eec9c887895e8056fcb995aabc17de751e34"
REPO_INFO = DATA / "repo-info" / "repos" / "python" / "remote"


def git_blob_id(data: bytes) -> str:
    """The id git gives a file's content (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def library_stanzas(text: str) -> list[dict[str, str]]:
    """The stanzas of an official-images library file: ``Key: value`` lines, blank-line separated."""
    stanzas: list[dict[str, str]] = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            if line[:1].isspace() and key is not None:  # a continued value (Maintainers)
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        if fields:
            stanzas.append(fields)
    return stanzas


def published_tags(text: str) -> dict[str, dict[str, str]]:
    """``{tag: stanza}`` of every tag (own and shared) a library file publishes."""
    tags: dict[str, dict[str, str]] = {}
    for stanza in library_stanzas(text):
        for key in ("Tags", "SharedTags"):
            for tag in filter(None, (t.strip() for t in stanza.get(key, "").split(","))):
                tags.setdefault(tag, stanza)
    return tags


def index_digest(record: str) -> tuple[str, str, str]:
    """``(tag, digest, media type)`` of a repo-info record's first (the tag's own) section."""
    tag = re.search(r"^## `python:([^`]+)`", record, re.M)
    digest = re.search(r"docker pull python@(sha256:[0-9a-f]{64})", record)
    mime = re.search(r"Manifest MIME: `([^`]+)`", record)
    assert tag and digest and mime, "not a repo-info record"
    return tag.group(1), digest.group(1), mime.group(1)


def test_the_copy_of_library_python_is_unchanged() -> None:
    assert git_blob_id(LIBRARY_PYTHON.read_bytes()) == LIBRARY_PYTHON_BLOB


def test_the_reader_image_is_a_published_tag_pinned_to_its_index_digest() -> None:
    name, _, rest = READER_IMAGE.partition(":")
    tag, _, digest = rest.partition("@")
    assert name == "python"
    stanza = published_tags(LIBRARY_PYTHON.read_text(encoding="utf-8")).get(tag)
    assert stanza is not None, f"python:{tag} is not a tag docker-library/official-images publishes"
    # The nodes mlplane places work on: amd64 and arm64 (the clouds' GPU and CPU pools).
    assert {"amd64", "arm64v8"} <= {a.strip() for a in stanza["Architectures"].split(",")}
    recorded_tag, recorded_digest, mime = index_digest((REPO_INFO / f"{tag}.md").read_text(encoding="utf-8"))
    assert recorded_tag == tag
    # The index (every platform), not one platform's manifest: the same reference pulls on arm64.
    assert mime == "application/vnd.oci.image.index.v1+json"
    assert digest == recorded_digest
    assert image_problem(READER_IMAGE) is None


def test_the_parser_tells_published_tags_from_others() -> None:
    """The check can fail: a tag that was never in the file, or only in an older one, is not found."""
    tags = published_tags(LIBRARY_PYTHON.read_text(encoding="utf-8"))
    assert "3.12-slim-bookworm" in tags and "3.12.14-slim-bookworm" in tags
    assert "3.12.8-slim" not in tags  # the reader's former tag: not published at this commit
    assert "3.12.14-slim-bullseye" not in tags
