"""The line of requirements.txt that installs mlplane in a scaffolded repository.

mlplane is on no package index yet, so the default is where the running mlplane was
installed from, as pip recorded it (``direct_url.json``, PEP 610): a git URL pinned to
the commit it was installed at; a version pin where it came from an index. A local wheel
or folder installs only on this machine, which is said (CI could not install it);
``--mlplane-spec`` writes any pip requirement instead.
"""

from __future__ import annotations

import json
import re
from importlib import metadata

from mlplane.core.errors import input_error


def mlplane_requirement(extras: list[str], spec: str | None) -> tuple[str, str]:
    """The requirement naming mlplane with ``extras``, and a warning ("" for none).

    Args:
        extras: mlplane's extras the repository's stacks need, e.g. ``["gcp", "policy"]``.
        spec: ``--mlplane-spec``: written as given (its own extras are the user's choice).

    Raises:
        InputError: ``spec`` is empty or spans lines, or mlplane's installation is unknown.
    """
    if spec is not None:
        if not spec.strip() or "\n" in spec:
            raise input_error("command line", "--mlplane-spec", "not one pip requirement", value=spec,
                              allowed="one line pip understands, e.g. 'mlplane[gcp] @ git+https://HOST/OWNER/"
                                      "mlplane@v0.1.0'")
        return spec.strip(), _missing_extras(spec, extras)
    name = f"mlplane[{','.join(extras)}]" if extras else "mlplane"
    try:
        distribution = metadata.distribution("mlplane")
    except metadata.PackageNotFoundError:
        raise input_error("command line", "--mlplane-spec", "mlplane runs from a checkout that was never installed, so "
                          "where it installs from is unknown", has_value=False,
                          allowed="--mlplane-spec with a pip requirement (a git URL pinned to a tag)") from None
    direct = distribution.read_text("direct_url.json")
    if not direct:  # from an index: pin the version
        return f"{name}=={distribution.version}", ""
    record = json.loads(direct)
    url, vcs = record.get("url", ""), record.get("vcs_info")
    if vcs and vcs.get("vcs") == "git":
        return f"{name} @ git+{url}@{vcs['commit_id']}", ""
    return f"{name} @ {url}", (f"requirements.txt names mlplane at {url}, a local path: it installs on this machine "
                               "only (not in CI); pass --mlplane-spec with a git URL pinned to a tag")


def _missing_extras(spec: str, extras: list[str]) -> str:
    """A warning where ``spec`` lacks extras the stacks need ("" where it has them all)."""
    match = re.match(r"\s*mlplane\s*\[([^\]]*)\]", spec)
    given = {e.strip() for e in match.group(1).split(",")} if match else set()
    missing = [e for e in extras if e not in given]
    if not missing:
        return ""
    return (f"--mlplane-spec names no extra {', '.join(missing)}, which this repository's stacks and policy pack "
            f"need: `pulumi install` installs requirements.txt as written (e.g. mlplane[{','.join(extras)}] @ ...)")
