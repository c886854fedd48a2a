"""A kustomize directory whose webhook-gated objects wait for the webhook's server.

A ``kustomize.v2.Directory`` holding an admission webhook, its server and objects the
webhook gates (Trainer's ClusterTrainingRuntimes, Knative's ``routing-serving-certs``)
registers those objects as soon as their CRD is there, and the API server refuses them
while the server is not ready (docs/ordering.md). A resource transform cannot order them:
the engine takes the ``depends_on`` a transform returns only for a resource whose own
registration carries transforms, which the provider's children do not, and it never waits
for a dependency itself (docs/ordering.md, "A kustomize directory's webhook-gated objects").

What works is the Helm post-renderer's own annotation, added inside the kustomize build:
mlplane installs every upstream directory through a local kustomization (written here,
under the program's working directory, which is the provider's too) that lists the
upstream location as its one resource and :mod:`components.depends_on` as a transformer
plugin. The provider builds with external plugins allowed, so kustomize runs the plugin
over the directory's objects; it adds ``config.kubernetes.io/depends-on`` to every object a
failing webhook of the same directory gates, naming the server's workloads, and the
provider's dependency graph registers the object only after them (cli-utils v0.37.2
``addDependsOnEdges``), awaited.

The plugin is found in kustomize's plugin home (:func:`plugin_home`);
``mlplane-depends-on --install-kustomize-plugin`` puts it there, a prerequisite
``mlplane preview`` lists with its check.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from mlplane.components.depends_on import COMMAND, PLUGIN_API_VERSION, PLUGIN_KIND
from mlplane.components.sources import wrapper_path

#: The prerequisite's check and install commands (infra/prerequisites.py; verify stands it in).
PLUGIN_CHECK = f'test -x "$({COMMAND} --kustomize-plugin-path)"'
PLUGIN_INSTALL = f"{COMMAND} --install-kustomize-plugin"
KUSTOMIZATION = "kustomization.yaml"
TRANSFORMER = "depends-on.yaml"


def kustomization_files(location: str, namespace: str) -> dict[str, str]:
    """The files of the local kustomization that wraps ``location``.

    Args:
        location: What the ``kustomize.v2.Directory`` would read: a ``<repo>//<path>?ref=``
            URL, or a folder relative to the wrapper (kustomize refuses an absolute folder
            as a resource: "new root ... cannot be absolute", kubernetes-sigs/kustomize
            api/v0.21.1 ``api/internal/loader/fileloader.go``).
        namespace: The directory's ``namespace`` (the plugin's default for objects that name
            none, as the provider's ``Normalize`` gives them later).

    Returns:
        ``{file name: text}``: the kustomization (the location as its only resource, the
        plugin as its only transformer) and the plugin's configuration.
    """
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": [location], "transformers": [TRANSFORMER]}
    transformer = {"apiVersion": PLUGIN_API_VERSION, "kind": PLUGIN_KIND, "metadata": {"name": "depends-on"},
                   "namespace": namespace}
    return {KUSTOMIZATION: yaml.safe_dump(kustomization, sort_keys=False),
            TRANSFORMER: yaml.safe_dump(transformer, sort_keys=False)}


def ordered_directory(location: str, namespace: str, root: Path | None = None) -> str:
    """Write the wrapping kustomization of ``location`` and return the ``directory`` to install.

    Args:
        location: As :func:`kustomization_files`.
        namespace: As :func:`kustomization_files`.
        root: The folder relative paths are taken from (default: the working directory,
            which Pulumi makes the program's and every provider's: pulumi/pulumi v3.243.0
            ``pkg/engine/project.go``, ``getPwdMain``; ``sdk/go/common/resource/plugin/
            plugin.go``, ``cmd.Dir = pwd``).

    Returns:
        The relative path of the wrapper (:func:`components.sources.wrapper_path`): the
        same on every machine, and the location can be read back from it alone.
    """
    relative = wrapper_path(location, namespace)
    base = root or Path.cwd()
    folder = base / relative
    folder.mkdir(parents=True, exist_ok=True)
    # A folder (absolute, or relative to the working directory as the provider reads it) is
    # named relative to the wrapper; symbolic links are kept as the stack file gave them.
    resource = location if "://" in location else os.path.relpath(os.path.join(base, location), folder)
    for name, text in kustomization_files(resource, namespace).items():
        _write_if_changed(folder / name, text)
    return relative


def _write_if_changed(path: Path, text: str) -> None:
    """Replace ``path`` atomically (programs of several stacks may write the same file at once)."""
    if path.is_file() and path.read_text() == text:
        return
    handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(scratch, path)


def plugin_home(environ: Mapping[str, str] | None = None) -> Path:
    """The folder kustomize takes exec plugins from, as it picks it: the first that exists of
    ``$KUSTOMIZE_PLUGIN_HOME``, ``$XDG_CONFIG_HOME/kustomize/plugin``,
    ``~/.config/kustomize/plugin``, ``~/kustomize/plugin`` (kubernetes-sigs/kustomize
    api/v0.21.1 ``api/konfig/plugins.go``, ``DefaultAbsPluginHome``); when none exists, the
    first of them that applies (where :func:`install_plugin` creates it)."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    candidates = [Path(env["KUSTOMIZE_PLUGIN_HOME"])] if env.get("KUSTOMIZE_PLUGIN_HOME") else []
    if env.get("XDG_CONFIG_HOME"):
        candidates.append(Path(env["XDG_CONFIG_HOME"]) / "kustomize" / "plugin")
    candidates += [home / ".config" / "kustomize" / "plugin", home / "kustomize" / "plugin"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def plugin_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where kustomize looks for the plugin: ``<home>/<group>/<version>/<lowercase kind>/<Kind>``
    (api/v0.21.1 ``api/internal/plugins/loader/loader.go``, ``AbsolutePluginPath``)."""
    group, version = PLUGIN_API_VERSION.split("/")
    return plugin_home(environ) / group / version / PLUGIN_KIND.lower() / PLUGIN_KIND


def install_plugin(environ: Mapping[str, str] | None = None) -> Path:
    """Put the plugin where kustomize finds it: a launcher that runs :mod:`components.depends_on`
    with this Python (so it works without the virtualenv active). Returns its path."""
    path = plugin_path(environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_if_changed(path, f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m mlplane.components.depends_on \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
