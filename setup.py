"""Installs the repository's top-level folders under one import namespace, ``mlplane``.

The repository keeps the Pulumi project's layout (``infra/``, ``components/``,
``pipelines/``, ``policy/`` beside ``Pulumi.yaml``), but installed they are
``mlplane.infra``, ``mlplane.components``, ``mlplane.pipelines`` and ``mlplane.policy``,
so a platform team's own ``pipelines/`` or ``components/`` folder (Pulumi puts the project
folder first on ``sys.path``) can never shadow them. ``mlplane`` itself is a namespace
package: nothing but these four is installed. Everything else is in pyproject.toml.
"""

from setuptools import find_namespace_packages, find_packages, setup

FOLDERS = ("core", "infra", "components", "pipelines", "policy")
#: Folders of data only (``mlplane init``'s templates): packages too, so that their files
#: ship as package data (pyproject.toml) and setuptools does not warn they would be left out.
DATA_FOLDERS = find_namespace_packages(include=["infra.scaffold.templates*"])

setup(
    packages=[f"mlplane.{name}" for name in
              [*find_packages(include=[f"{folder}*" for folder in FOLDERS]), *DATA_FOLDERS]],
    package_dir={f"mlplane.{folder}": folder for folder in FOLDERS},
)
